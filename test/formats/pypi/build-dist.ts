import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test helper: real wheels and sdists written by Python's own zipfile/tarfile/hashlib (Debian's
 * /usr/bin/python3, standard library only), from a spec. The spec can also ask for the broken
 * archives no build backend would make: a tampered or incomplete RECORD, unsafe names, links,
 * duplicates, lying size fields, encrypted entries.
 */

/** Debian's interpreter, never a pyenv shim first on PATH. */
export const PYTHON = '/usr/bin/python3';

export interface DistFile {
  path: string;
  body?: string | Buffer;
  mode?: number;
  symlinkTo?: string;
  hardlinkTo?: string;
  dir?: boolean;
}

export interface DistSpec {
  name?: string;
  version?: string;
  /** Extra core metadata fields, in order. */
  metadata?: [string, string][];
  /** Replaces the generated METADATA / PKG-INFO entirely. */
  metadataText?: string | Buffer;
  /** Metadata body (the long description). */
  description?: string;
  /** Project files: wheel paths from the archive root, sdist paths inside the top directory. */
  files?: DistFile[];
  /** Entries written as given, at the archive root (after the project files). */
  rawEntries?: DistFile[];
  /** The file name (default `{name}-{version}-py3-none-any.whl` / `{name}-{version}.tar.gz`). */
  filename?: string;
  /** Wheel: `.dist-info` stem (default `{name}-{version}`). Sdist: the top directory. */
  stem?: string;
  /** Wheel: WHEEL file text. */
  wheelText?: string;
  record?: {
    /** Rewrite this file's body after RECORD is computed. */
    tamper?: string;
    /** Leave these out of RECORD. */
    omit?: string[];
    /** Rows appended to RECORD. */
    extraRows?: string[];
    /** Replaces RECORD entirely. */
    text?: string;
  };
  /** Byte patches after writing a zip. */
  patch?: {
    /** Rewrite an entry's uncompressed size in both headers. */
    declaredSize?: { path: string; size: number };
    /** Set the encryption flag of an entry. */
    encrypt?: string;
  };
}

export interface BuiltDist {
  filename: string;
  data: Buffer;
}

const SCRIPT = String.raw`
import base64, hashlib, io, json, sys, tarfile, zipfile, struct, warnings
warnings.simplefilter('ignore')
spec = json.load(sys.stdin)
entries = spec['entries']
for e in entries:
    e['data'] = base64.b64decode(e.get('data') or '')

def record_text():
    r = spec['record']
    if r.get('text') is not None:
        return r['text'].encode()
    lines = []
    for e in entries:
        if e['kind'] != 'file' or e['name'] in r.get('omit', []):
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(e['data']).digest()).rstrip(b'=').decode()
        lines.append('%s,sha256=%s,%d' % (e['name'], digest, len(e['data'])))
    lines.extend(r.get('extraRows', []))
    lines.append(r['path'] + ',,')
    return ('\n'.join(lines) + '\n').encode()

if spec.get('record'):
    text = record_text()
    tamper = spec['record'].get('tamper')
    for e in entries:
        if e['name'] == tamper:
            e['data'] = e['data'] + b'\n# changed after the build\n'
    entries.append({'name': spec['record']['path'], 'kind': 'file', 'data': text, 'mode': 0o644})

out = io.BytesIO()
if spec['format'] == 'zip':
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_DEFLATED) as z:
        for e in entries:
            info = zipfile.ZipInfo(e['name'], date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            if e['kind'] == 'dir':
                info.external_attr = (0o40755 << 16) | 0x10
                info.compress_type = zipfile.ZIP_STORED
                z.writestr(info, b'')
            elif e['kind'] == 'symlink':
                info.external_attr = 0o120777 << 16
                z.writestr(info, e['target'].encode())
            else:
                info.external_attr = (0o100000 | e.get('mode', 0o644)) << 16
                z.writestr(info, e['data'])
    data = bytearray(out.getvalue())
    patch = spec.get('patch') or {}
    def headers(name):
        raw = name.encode()
        found = []
        for sig, name_at in ((b'PK\x01\x02', 46), (b'PK\x03\x04', 30)):
            at = data.find(sig)
            while at != -1:
                n = struct.unpack_from('<H', data, at + (28 if sig == b'PK\x01\x02' else 26))[0]
                if bytes(data[at + name_at:at + name_at + n]) == raw:
                    found.append((sig, at))
                at = data.find(sig, at + 4)
        return found
    if patch.get('declaredSize'):
        for sig, at in headers(patch['declaredSize']['path']):
            struct.pack_into('<I', data, at + (24 if sig == b'PK\x01\x02' else 22), patch['declaredSize']['size'])
    if patch.get('encrypt'):
        for sig, at in headers(patch['encrypt']):
            off = at + (8 if sig == b'PK\x01\x02' else 6)
            struct.pack_into('<H', data, off, struct.unpack_from('<H', data, off)[0] | 1)
    sys.stdout.buffer.write(bytes(data))
else:
    with tarfile.open(fileobj=out, mode='w:gz', format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            info = tarfile.TarInfo(e['name'])
            info.mtime = 1577836800
            info.mode = e.get('mode', 0o644)
            if e['kind'] == 'dir':
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            elif e['kind'] == 'symlink':
                info.type = tarfile.SYMTYPE
                info.linkname = e['target']
                t.addfile(info)
            elif e['kind'] == 'hardlink':
                info.type = tarfile.LNKTYPE
                info.linkname = e['target']
                t.addfile(info)
            elif e['kind'] == 'chardev':
                info.type = tarfile.CHRTYPE
                t.addfile(info)
            else:
                info.size = len(e['data'])
                t.addfile(info, io.BytesIO(e['data']))
    sys.stdout.buffer.write(out.getvalue())
`;

let scriptDir: string | undefined;

function scriptPath(): string {
  scriptDir ??= mkdtempSync(join(tmpdir(), 'stockade-pypi-'));
  const path = join(scriptDir, 'build_dist.py');
  writeFileSync(path, SCRIPT);
  return path;
}

/** Removes the helper's temp directory. */
export function cleanupBuilder(): void {
  if (scriptDir !== undefined) rmSync(scriptDir, { recursive: true, force: true });
  scriptDir = undefined;
}

interface PlanEntry {
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev';
  data?: string;
  mode?: number;
  target?: string;
}

function toEntry(file: DistFile, prefix = ''): PlanEntry {
  const name = `${prefix}${file.path}`;
  if (file.dir) return { name, kind: 'dir' };
  if (file.symlinkTo !== undefined) return { name, kind: 'symlink', target: file.symlinkTo };
  if (file.hardlinkTo !== undefined) return { name, kind: 'hardlink', target: file.hardlinkTo };
  if (file.mode !== undefined && (file.mode & 0o170000) === 0o020000) return { name, kind: 'chardev' };
  const body = typeof file.body === 'string' || file.body === undefined ? Buffer.from(file.body ?? '') : file.body;
  return { name, kind: 'file', data: body.toString('base64'), mode: file.mode ?? 0o644 };
}

function run(plan: Record<string, unknown>): Buffer {
  return execFileSync(PYTHON, [scriptPath()], { input: JSON.stringify(plan), maxBuffer: 256 * 1024 * 1024 });
}

/** Core metadata text from a spec (Metadata-Version 2.1, description as the body). */
export function metadataFor(spec: DistSpec): string {
  const lines = ['Metadata-Version: 2.1', `Name: ${spec.name ?? 'demo'}`, `Version: ${spec.version ?? '1.0'}`, 'Summary: A demo project'];
  for (const [key, value] of spec.metadata ?? []) lines.push(`${key}: ${value}`);
  return `${lines.join('\n')}\n\n${spec.description ?? 'Demo description.\n'}`;
}

export function buildWheel(spec: DistSpec = {}): BuiltDist {
  const name = spec.name ?? 'demo';
  const version = spec.version ?? '1.0';
  const escaped = name.replace(/[-_.]+/g, '_').toLowerCase();
  const stem = spec.stem ?? `${escaped}-${version}`;
  const distInfo = `${stem}.dist-info`;
  const files = spec.files ?? [{ path: `${escaped}/__init__.py`, body: 'VALUE = 1\n' }];
  const entries: PlanEntry[] = files.map((f) => toEntry(f));
  entries.push({ name: `${distInfo}/METADATA`, kind: 'file', data: Buffer.from(spec.metadataText ?? metadataFor(spec)).toString('base64') });
  const wheelText = spec.wheelText ?? 'Wheel-Version: 1.0\nGenerator: stockade-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n';
  entries.push({ name: `${distInfo}/WHEEL`, kind: 'file', data: Buffer.from(wheelText).toString('base64') });
  for (const raw of spec.rawEntries ?? []) entries.push(toEntry(raw));
  const data = run({ format: 'zip', entries, record: { path: `${distInfo}/RECORD`, ...spec.record }, patch: spec.patch });
  return { filename: spec.filename ?? `${escaped}-${version}-py3-none-any.whl`, data };
}

export function buildSdist(spec: DistSpec = {}, format: 'tar.gz' | 'zip' = 'tar.gz'): BuiltDist {
  const name = spec.name ?? 'demo';
  const version = spec.version ?? '1.0';
  const escaped = name.replace(/[-_.]+/g, '_').toLowerCase();
  const top = spec.stem ?? `${escaped}-${version}`;
  const files = spec.files ?? [
    { path: 'pyproject.toml', body: '[build-system]\nrequires = ["setuptools"]\n' },
    { path: 'setup.py', body: 'from setuptools import setup\nsetup()\n' },
    { path: `src/${escaped}/__init__.py`, body: 'VALUE = 1\n' },
  ];
  const entries: PlanEntry[] = [{ name: `${top}/`, kind: 'dir' }];
  entries.push({ name: `${top}/PKG-INFO`, kind: 'file', data: Buffer.from(spec.metadataText ?? metadataFor(spec)).toString('base64') });
  for (const file of files) entries.push(toEntry(file, `${top}/`));
  for (const raw of spec.rawEntries ?? []) entries.push(toEntry(raw));
  const data = run({ format: format === 'zip' ? 'zip' : 'tar.gz', entries, patch: spec.patch });
  return { filename: spec.filename ?? `${escaped}-${version}.${format}`, data };
}

