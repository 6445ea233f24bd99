import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * Builds real gems with the system's `gem build` for the parser tests, and crafts broken gems
 * from good ones. HOME and GEM_HOME point into the work directory, so nothing of the machine is
 * read or written.
 */

const MISSING_RUBY = 'ruby and gem are needed by these tests: install the Debian package ruby-full';

export interface FixtureDependency {
  name: string;
  type: 'runtime' | 'development';
  requirements: string[];
}

export interface FixtureGem {
  name: string;
  version: string;
  platform?: string;
  summary?: string;
  description?: string;
  authors?: string[];
  email?: string | string[];
  homepage?: string;
  licenses?: string[];
  metadata?: Record<string, string>;
  dependencies?: FixtureDependency[];
  requiredRubyVersion?: string;
  executables?: string[];
  extensions?: string[];
  postInstallMessage?: string;
  /** Path inside the gem → content; all are listed in `spec.files`. */
  files: Record<string, string | Buffer>;
}

function rubyString(value: string): string {
  // A JSON string is a valid double-quoted Ruby literal once `#` cannot start an interpolation.
  return JSON.stringify(value).replace(/#/g, '\\#');
}

function rubyList(values: string[]): string {
  return `[${values.map(rubyString).join(', ')}]`;
}

function gemspecText(gem: FixtureGem): string {
  const lines = [
    'Gem::Specification.new do |s|',
    `  s.name = ${rubyString(gem.name)}`,
    `  s.version = ${rubyString(gem.version)}`,
    `  s.summary = ${rubyString(gem.summary ?? `The ${gem.name} fixture`)}`,
    `  s.authors = ${rubyList(gem.authors ?? ['Fixture Author'])}`,
    `  s.files = ${rubyList(Object.keys(gem.files))}`,
    `  s.licenses = ${rubyList(gem.licenses ?? ['MIT'])}`,
    `  s.homepage = ${rubyString(gem.homepage ?? 'https://example.invalid/fixture')}`,
  ];
  if (gem.platform !== undefined) lines.push(`  s.platform = ${rubyString(gem.platform)}`);
  if (gem.description !== undefined) lines.push(`  s.description = ${rubyString(gem.description)}`);
  if (gem.email !== undefined) lines.push(`  s.email = ${typeof gem.email === 'string' ? rubyString(gem.email) : rubyList(gem.email)}`);
  if (gem.requiredRubyVersion !== undefined) lines.push(`  s.required_ruby_version = ${rubyString(gem.requiredRubyVersion)}`);
  if (gem.executables !== undefined) lines.push(`  s.bindir = "exe"`, `  s.executables = ${rubyList(gem.executables)}`);
  if (gem.extensions !== undefined) lines.push(`  s.extensions = ${rubyList(gem.extensions)}`);
  if (gem.postInstallMessage !== undefined) lines.push(`  s.post_install_message = ${rubyString(gem.postInstallMessage)}`);
  if (gem.metadata !== undefined) {
    const pairs = Object.entries(gem.metadata).map(([k, v]) => `${rubyString(k)} => ${rubyString(v)}`);
    lines.push(`  s.metadata = { ${pairs.join(', ')} }`);
  }
  for (const dep of gem.dependencies ?? []) {
    lines.push(`  s.add_${dep.type}_dependency ${[dep.name, ...dep.requirements].map(rubyString).join(', ')}`);
  }
  lines.push('end', '');
  return lines.join('\n');
}

function rubyEnv(workDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workDir,
    GEM_HOME: join(workDir, 'gem-home'),
    GEM_PATH: join(workDir, 'gem-home'),
    GEM_SPEC_CACHE: join(workDir, 'spec-cache'),
    LC_ALL: 'C.UTF-8',
    // Reproducible dates in the spec.
    SOURCE_DATE_EPOCH: '1700000000',
  };
}

/** Fails (never skips) when Ruby is not installed. */
export function assertRubyInstalled(): void {
  for (const tool of ['ruby', 'gem']) {
    const result = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (result.error !== undefined || result.status !== 0) throw new Error(`${MISSING_RUBY} (${tool} --version failed)`);
  }
}

/** Writes the gemspec and files under `workDir` and runs `gem build`; returns the .gem's bytes. */
export function buildGem(gem: FixtureGem, workDir: string): Buffer {
  const dir = join(workDir, `${gem.name}-${gem.version}-${gem.platform ?? 'ruby'}`);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(gem.files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  writeFileSync(join(dir, `${gem.name}.gemspec`), gemspecText(gem));
  const result = spawnSync('gem', ['build', `${gem.name}.gemspec`, '--output', 'out.gem'], {
    cwd: dir,
    env: rubyEnv(workDir),
    encoding: 'utf8',
  });
  if (result.error !== undefined) throw new Error(`${MISSING_RUBY} (${result.error.message})`);
  if (result.status !== 0) throw new Error(`gem build failed (${result.status}): ${result.stderr}\n${result.stdout}`);
  return readFileSync(join(dir, 'out.gem'));
}

export interface RubyView {
  name: string;
  version: string;
  platform: string;
  prerelease: boolean;
  dependencies: { name: string; type: string; requirements: [string, string][] }[];
  required_ruby_version: [string, string][];
  files: string[];
  extensions: string[];
  executables: string[];
  post_install_message: string | null;
  metadata: Record<string, string>;
}

const RUBY_DUMP = `
require "json"
require "rubygems/package"
spec = Gem::Package.new(ARGV[0]).spec
reqs = ->(r) { r.requirements.map { |op, v| [op, v.to_s] } }
puts JSON.generate({
  name: spec.name,
  version: spec.version.to_s,
  platform: spec.platform.to_s,
  prerelease: spec.version.prerelease?,
  dependencies: spec.dependencies.map { |d| { name: d.name, type: d.type.to_s, requirements: reqs.(d.requirement) } },
  required_ruby_version: reqs.(spec.required_ruby_version),
  files: spec.files,
  extensions: spec.extensions,
  executables: spec.executables,
  post_install_message: spec.post_install_message,
  metadata: spec.metadata,
})
`;

/** What Ruby's own Gem::Package reads from the gem. */
export function rubySpec(gemBytes: Buffer, workDir: string): RubyView {
  const path = join(workDir, `check-${createHash('sha256').update(gemBytes).digest('hex').slice(0, 16)}.gem`);
  writeFileSync(path, gemBytes);
  const result = spawnSync('ruby', ['-e', RUBY_DUMP, path], { env: rubyEnv(workDir), encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`${MISSING_RUBY} (${result.error.message})`);
  if (result.status !== 0) throw new Error(`ruby failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as RubyView;
}

// ---------------------------------------------------------------------------------------------
// Crafting: a minimal ustar reader and writer, by hand so broken archives can be made at will.

export interface TarMember {
  name: string;
  body: Buffer;
  /** Tar typeflag: `0` file, `1` hard link, `2` symlink, `3` char device, `5` directory. */
  type?: string;
  linkname?: string;
  mode?: number;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

export function readTar(data: Buffer): TarMember[] {
  const members: TarMember[] = [];
  for (let offset = 0; offset + 512 <= data.length; ) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const prefix = field(header, 345, 155);
    const base = field(header, 0, 100);
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = field(header, 156, 1) || '0';
    const body = Buffer.from(data.subarray(offset + 512, offset + 512 + size));
    members.push({ name: prefix ? `${prefix}/${base}` : base, body, type, linkname: field(header, 157, 100), mode: Number.parseInt(field(header, 100, 8).trim() || '644', 8) });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

export function writeTar(members: TarMember[]): Buffer {
  const blocks: Buffer[] = [];
  for (const member of members) {
    const header = Buffer.alloc(512);
    const type = member.type ?? '0';
    const size = type === '0' ? member.body.length : 0;
    header.write(member.name, 0, 100, 'utf8');
    header.write(`${(member.mode ?? (type === '5' ? 0o755 : 0o644)).toString(8).padStart(7, '0')}\0`, 100, 'ascii');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write(`${(1700000000).toString(8).padStart(11, '0')}\0`, 136, 'ascii');
    header.write(type, 156, 'ascii');
    header.write(member.linkname ?? '', 157, 100, 'utf8');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    header.write('        ', 148, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(header);
    if (size > 0) {
      blocks.push(member.body);
      const pad = (512 - (size % 512)) % 512;
      if (pad > 0) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function checksumsYaml(members: TarMember[]): Buffer {
  const body = (name: string) => members.find((m) => m.name === name)?.body ?? Buffer.alloc(0);
  const lines = ['---'];
  for (const [algorithm, hash] of [['SHA256', 'sha256'], ['SHA512', 'sha512']] as const) {
    lines.push(`${algorithm}:`);
    for (const name of ['metadata.gz', 'data.tar.gz']) lines.push(`  ${name}: ${createHash(hash).update(body(name)).digest('hex')}`);
  }
  return gzipSync(`${lines.join('\n')}\n`);
}

/** Rewrites a gem's outer tar; checksums.yaml.gz is recomputed unless `keepChecksums`. */
export function repackGem(gem: Buffer, mutate: (members: TarMember[]) => TarMember[], keepChecksums = false): Buffer {
  const members = mutate(readTar(gem));
  if (!keepChecksums) {
    const checksums = members.find((m) => m.name === 'checksums.yaml.gz');
    if (checksums !== undefined) checksums.body = checksumsYaml(members);
  }
  return writeTar(members);
}

/** Rewrites the entries of data.tar.gz (checksums recomputed). */
export function rewriteData(gem: Buffer, mutate: (entries: TarMember[]) => TarMember[]): Buffer {
  return repackGem(gem, (members) =>
    members.map((m) => (m.name === 'data.tar.gz' ? { ...m, body: gzipSync(writeTar(mutate(readTar(gunzipSync(m.body))))) } : m)),
  );
}

/** Rewrites the spec YAML in metadata.gz (checksums recomputed unless `keepChecksums`). */
export function rewriteMetadata(gem: Buffer, mutate: (yaml: string) => string, keepChecksums = false): Buffer {
  return repackGem(
    gem,
    (members) => members.map((m) => (m.name === 'metadata.gz' ? { ...m, body: gzipSync(mutate(gunzipSync(m.body).toString('utf8'))) } : m)),
    keepChecksums,
  );
}
