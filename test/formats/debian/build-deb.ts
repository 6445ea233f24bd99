import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Header } from 'tar';

/**
 * Test helpers: real .debs built by dpkg-deb, plus hand-made ar and tar archives for the hostile
 * cases dpkg-deb would never produce.
 */

export type DpkgCompressor = 'xz' | 'gzip' | 'zstd' | 'none';

export interface DebFileSpec {
  /** Installed path, e.g. `/usr/bin/demo`. */
  path: string;
  body?: string | Buffer;
  mode?: number;
  /** Makes a symlink to this target instead of a file. */
  symlinkTo?: string;
  /** Makes a directory. */
  dir?: boolean;
}

export interface DebSpec {
  name?: string;
  version?: string;
  arch?: string;
  /** Appended to the control file after the standard fields, in order. */
  extraFields?: Record<string, string>;
  description?: string;
  /** preinst, postinst, prerm, postrm, config, triggers, conffiles, or anything else for DEBIAN/. */
  controlFiles?: Record<string, string>;
  files?: DebFileSpec[];
  compressor?: DpkgCompressor;
}

export interface BuiltDeb {
  path: string;
  data: Buffer;
  /** Removes the temp dir. */
  cleanup(): Promise<void>;
}

const EXECUTABLE_CONTROL_FILES = new Set(['preinst', 'postinst', 'prerm', 'postrm', 'config']);

/** Builds a package with `dpkg-deb --build --root-owner-group` in a temp dir. */
export async function buildDeb(spec: DebSpec = {}): Promise<BuiltDeb> {
  const dir = await mkdtemp(join(tmpdir(), 'stockade-deb-'));
  const root = join(dir, 'root');
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  const control = [
    `Package: ${spec.name ?? 'demo'}`,
    `Version: ${spec.version ?? '1.0-1'}`,
    `Architecture: ${spec.arch ?? 'amd64'}`,
    'Maintainer: Demo Maintainer <demo@example.invalid>',
    ...Object.entries(spec.extraFields ?? {}).map(([name, value]) => `${name}: ${value}`),
    `Description: ${spec.description ?? 'demo package\n A demo package for tests.'}`,
  ].join('\n');
  await writeFile(join(root, 'DEBIAN', 'control'), `${control}\n`);
  for (const [name, body] of Object.entries(spec.controlFiles ?? {})) {
    const file = join(root, 'DEBIAN', name);
    await writeFile(file, body);
    await chmod(file, EXECUTABLE_CONTROL_FILES.has(name) ? 0o755 : 0o644);
  }
  for (const file of spec.files ?? []) {
    const target = join(root, file.path);
    await mkdir(file.dir ? target : dirname(target), { recursive: true });
    if (file.dir) {
      if (file.mode !== undefined) await chmod(target, file.mode);
    } else if (file.symlinkTo !== undefined) {
      await symlink(file.symlinkTo, target);
    } else {
      await writeFile(target, file.body ?? '');
      await chmod(target, file.mode ?? 0o644);
    }
  }
  const out = join(dir, 'out.deb');
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${spec.compressor ?? 'xz'}`, '--build', root, out], { stdio: 'pipe' });
  return { path: out, data: await readFile(out), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function dpkgFields(path: string, ...names: string[]): string {
  return execFileSync('dpkg-deb', ['--field', path, ...names], { encoding: 'utf8' });
}

export function dpkgInfoFile(path: string, name: string): string {
  return execFileSync('dpkg-deb', ['--info', path, name], { encoding: 'utf8' });
}

/** `dpkg-deb --contents` lines parsed: mode string, owner, size, path (`./usr/`), link. */
export function dpkgContents(path: string): { perms: string; owner: string; size: number; path: string; link?: string }[] {
  const out = execFileSync('dpkg-deb', ['--contents', path], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^(\S+) (\S+)\s+(\d+) \S+ \S+ (.*)$/.exec(line);
      if (match === null) throw new Error(`unexpected dpkg-deb --contents line: ${line}`);
      const [, perms = '', owner = '', size = '0', rest = ''] = match;
      const arrow = rest.indexOf(' -> ');
      const linkTo = rest.indexOf(' link to ');
      if (arrow !== -1) return { perms, owner, size: Number(size), path: rest.slice(0, arrow), link: rest.slice(arrow + 4) };
      if (linkTo !== -1) return { perms, owner, size: Number(size), path: rest.slice(0, linkTo), link: rest.slice(linkTo + 9) };
      return { perms, owner, size: Number(size), path: rest };
    });
}

// ---------------------------------------------------------------------------------------------
// Hand-made archives

export interface RawArMember {
  name: string;
  data: Buffer;
  /** Size written in the header when it must lie about the data. */
  declaredSize?: number | string;
  /** Replaces the mode field (8 chars). */
  modeField?: string;
}

/** Writes an `ar` archive byte for byte as binutils/dpkg do (GNU `name/` style). */
export function buildAr(members: RawArMember[], { magic = '!<arch>\n' } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from(magic, 'latin1')];
  for (const member of members) {
    const field = (value: string, width: number): string => value.padEnd(width, ' ').slice(0, width);
    const header =
      field(`${member.name}/`, 16) +
      field('0', 12) +
      field('0', 6) +
      field('0', 6) +
      field(member.modeField ?? '100644', 8) +
      field(String(member.declaredSize ?? member.data.length), 10) +
      '`\n';
    parts.push(Buffer.from(header, 'latin1'), member.data);
    if (member.data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Splits a .deb built by dpkg-deb into its members (trusted input: our own fixtures). */
export function splitAr(data: Buffer): RawArMember[] {
  const members: RawArMember[] = [];
  let offset = 8;
  while (offset < data.length) {
    const name = data.toString('latin1', offset, offset + 16).trim().replace(/\/$/, '');
    const size = Number(data.toString('latin1', offset + 48, offset + 58).trim());
    members.push({ name, data: data.subarray(offset + 60, offset + 60 + size) });
    offset += 60 + size + (size % 2);
  }
  return members;
}

export interface RawTarEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  body?: string | Buffer;
  linkpath?: string;
  mode?: number;
}

/** A plain ustar archive with exactly the given entries (no normalisation of hostile names). */
export function rawTar(entries: RawTarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const block = Buffer.alloc(512);
    const type = entry.type ?? 'File';
    const fields = {
      path: entry.path,
      type,
      size: body.length,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      linkpath: entry.linkpath,
    };
    new Header(fields as ConstructorParameters<typeof Header>[0]).encode(block, 0);
    parts.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const MINIMAL_CONTROL =
  'Package: demo\nVersion: 1.0\nArchitecture: all\nMaintainer: Demo <demo@example.invalid>\nDescription: demo\n';

/** A .deb assembled by hand: uncompressed tars unless a member name says otherwise. */
export function handDeb({
  control = MINIMAL_CONTROL,
  controlEntries,
  dataEntries = [{ path: './', type: 'Directory' }],
  controlName = 'control.tar',
  dataName = 'data.tar',
  controlData,
  dataData,
}: {
  control?: string;
  controlEntries?: RawTarEntry[];
  dataEntries?: RawTarEntry[];
  controlName?: string;
  dataName?: string;
  controlData?: Buffer;
  dataData?: Buffer;
} = {}): Buffer {
  const controlTar =
    controlData ?? rawTar(controlEntries ?? [{ path: './', type: 'Directory' }, { path: './control', body: control }]);
  return buildAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: controlName, data: controlTar },
    { name: dataName, data: dataData ?? rawTar(dataEntries) },
  ]);
}
