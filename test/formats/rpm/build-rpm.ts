import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Builds real RPMs with the system's rpmbuild for the parser tests. Everything (topdir,
 * HOME, temp files) stays inside the given work directory.
 */

export interface FixtureFile {
  /** Absolute installed path, e.g. `/usr/bin/tool`. */
  path: string;
  content?: string | Buffer;
  /** Permission bits including setuid/setgid/sticky, e.g. 0o4755. */
  mode?: number;
  user?: string;
  group?: string;
  /** Makes the entry a symlink to this target. */
  symlink?: string;
  directory?: boolean;
  config?: boolean | 'noreplace';
  doc?: boolean;
  /** Listed in the header but absent from the payload. */
  ghost?: boolean;
}

export type FixtureScript = string | { body: string; program: string };

export interface FixtureTrigger {
  kind:
    | 'triggerprein'
    | 'triggerin'
    | 'triggerun'
    | 'triggerpostun'
    | 'filetriggerin'
    | 'filetriggerun'
    | 'filetriggerpostun'
    | 'transfiletriggerin'
    | 'transfiletriggerun'
    | 'transfiletriggerpostun';
  /** The condition after `--`, e.g. `bash >= 3.0`, or path prefixes for file triggers. */
  on: string;
  body: string;
  program?: string;
}

export interface FixtureSpec {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: 'noarch' | 'x86_64';
  summary?: string;
  description?: string;
  license?: string;
  url?: string;
  vendor?: string;
  packager?: string;
  group?: string;
  /** Each a spec dependency line without the tag, e.g. `bash >= 4.0`. */
  requires?: string[];
  /** Requires(pre): lines. */
  requiresPre?: string[];
  provides?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  suggests?: string[];
  supplements?: string[];
  enhances?: string[];
  files?: FixtureFile[];
  scripts?: Partial<Record<'pretrans' | 'pre' | 'post' | 'preun' | 'postun' | 'posttrans', FixtureScript>>;
  triggers?: FixtureTrigger[];
  compressor?: 'gzip' | 'xz' | 'zstd';
  /** Extra preamble lines, verbatim, e.g. `Requires(posttrans): foo`. */
  preamble?: string[];
  /** `%changelog` entries, newest first as rpm expects them. */
  changelog?: FixtureChangelogEntry[];
}

export interface FixtureChangelogEntry {
  /** rpm's date form, e.g. `Mon Jan 01 2024`. */
  date: string;
  /** The rest of the `*` line: author, usually followed by ` - version-release`. */
  author: string;
  /** The entry's lines, each usually starting with `- `. */
  text: string;
}

const PAYLOAD_MACRO = { gzip: 'w9.gzdio', xz: 'w6.xzdio', zstd: 'w19.zstdio' } as const;

/** Builds the package and returns the path of the binary RPM. Throws with rpmbuild's output on failure. */
export function buildRpm(spec: FixtureSpec, workDir: string): string {
  const root = join(workDir, `${spec.name}-${spec.version}-${spec.release}-${spec.arch ?? 'noarch'}`);
  const top = join(root, 'top');
  const stage = join(root, 'stage');
  const tmp = join(root, 'tmp');
  for (const dir of [top, stage, tmp]) mkdirSync(dir, { recursive: true });
  for (const file of spec.files ?? []) {
    if (file.ghost) continue;
    const target = join(stage, file.path);
    if (file.directory) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    if (file.symlink !== undefined) symlinkSync(file.symlink, target);
    else writeFileSync(target, file.content ?? '');
  }
  const specPath = join(root, `${spec.name}.spec`);
  writeFileSync(specPath, specText(spec, stage));
  const args = ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', `_tmppath ${tmp}`];
  if (spec.arch === 'x86_64') args.push('--target', 'x86_64');
  args.push(specPath);
  const result = spawnSync('rpmbuild', args, { env: { ...process.env, HOME: root, LC_ALL: 'C' }, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`rpmbuild failed (${result.status}): ${result.stderr}\n${result.stdout}`);
  }
  const rpmDir = join(top, 'RPMS', spec.arch ?? 'noarch');
  const built = readdirSync(rpmDir).find((f) => f.endsWith('.rpm'));
  if (built === undefined) throw new Error(`rpmbuild wrote no package in ${rpmDir}`);
  return join(rpmDir, built);
}

function specText(spec: FixtureSpec, stage: string): string {
  const lines: string[] = [
    '%define debug_package %{nil}',
    '%define _build_id_links none',
    // The brp scripts (strip, byte-compile, …) only slow the build down here.
    '%define __os_install_post %{nil}',
    `%define _binary_payload ${PAYLOAD_MACRO[spec.compressor ?? 'gzip']}`,
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    `Release: ${spec.release}`,
    `Summary: ${spec.summary ?? `The ${spec.name} fixture`}`,
    `License: ${spec.license ?? 'MIT'}`,
  ];
  if (spec.epoch !== undefined) lines.push(`Epoch: ${spec.epoch}`);
  if (spec.arch === 'noarch' || spec.arch === undefined) lines.push('BuildArch: noarch');
  if (spec.url) lines.push(`URL: ${spec.url}`);
  if (spec.vendor) lines.push(`Vendor: ${spec.vendor}`);
  if (spec.packager) lines.push(`Packager: ${spec.packager}`);
  if (spec.group) lines.push(`Group: ${spec.group}`);
  const deps: [string, string[] | undefined][] = [
    ['Requires', spec.requires],
    ['Requires(pre)', spec.requiresPre],
    ['Provides', spec.provides],
    ['Conflicts', spec.conflicts],
    ['Obsoletes', spec.obsoletes],
    ['Recommends', spec.recommends],
    ['Suggests', spec.suggests],
    ['Supplements', spec.supplements],
    ['Enhances', spec.enhances],
  ];
  for (const [tag, values] of deps) for (const value of values ?? []) lines.push(`${tag}: ${value}`);
  lines.push(...(spec.preamble ?? []));
  lines.push('', '%description', spec.description ?? `The ${spec.name} fixture package.`, '');
  lines.push('%install', `cp -a ${stage}/. %{buildroot}/`, '');
  for (const [kind, script] of Object.entries(spec.scripts ?? {})) {
    if (script === undefined) continue;
    const { body, program } = typeof script === 'string' ? { body: script, program: undefined } : script;
    lines.push(program ? `%${kind} -p ${program}` : `%${kind}`, body, '');
  }
  for (const trigger of spec.triggers ?? []) {
    const program = trigger.program ? ` -p ${trigger.program}` : '';
    lines.push(`%${trigger.kind}${program} -- ${trigger.on}`, trigger.body, '');
  }
  lines.push('%files');
  for (const file of spec.files ?? []) {
    const parts: string[] = [];
    const mode = file.mode === undefined ? '-' : file.mode.toString(8);
    parts.push(`%attr(${mode},${file.user ?? 'root'},${file.group ?? 'root'})`);
    if (file.config) parts.push(file.config === 'noreplace' ? '%config(noreplace)' : '%config');
    if (file.doc) parts.push('%doc');
    if (file.ghost) parts.push('%ghost');
    if (file.directory) parts.push('%dir');
    parts.push(file.path);
    lines.push(parts.join(' '));
  }
  if (spec.changelog !== undefined) {
    lines.push('', '%changelog');
    for (const entry of spec.changelog) lines.push(`* ${entry.date} ${entry.author}`, entry.text, '');
  }
  return `${lines.join('\n')}\n`;
}

/** `rpm -qp --queryformat FORMAT package`. */
export function rpmQuery(path: string, format: string): string {
  const result = spawnSync('rpm', ['-qp', '--nosignature', '--nodigest', '--queryformat', format, path], {
    env: { ...process.env, HOME: dirname(path), LC_ALL: 'C' },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`rpm -qp failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

export function readRpm(path: string): Buffer {
  return readFileSync(path);
}
