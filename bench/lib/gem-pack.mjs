import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * Builds a .gem in memory from files and gemspec fields, shaped as `gem build` writes one: an
 * outer tar of metadata.gz (the spec as RubyGems' YAML), data.tar.gz and checksums.yaml.gz. Used
 * by bench:detection to hand the gate gems through the real parser without Ruby or temp files.
 */

const MTIME = 1_700_000_000;

/** A YAML double-quoted scalar: printable ASCII kept, everything else escaped, so any text round-trips. */
function quote(text) {
  let out = '"';
  for (const ch of String(text)) {
    const code = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

const list = (key, values) => (values.length === 0 ? [`${key}: []`] : [`${key}:`, ...values.map((v) => `- ${quote(v)}`)]);

/**
 * The spec YAML. `spec`: name, version, platform, summary, authors, licenses, bindir,
 * executables, extensions, files, requirePaths, postInstallMessage (the GemSpec's JSON names).
 */
export function gemspecYaml(spec) {
  const lines = [
    '--- !ruby/object:Gem::Specification',
    `name: ${quote(spec.name)}`,
    'version: !ruby/object:Gem::Version',
    `  version: ${quote(spec.version)}`,
    `platform: ${quote(spec.platform ?? 'ruby')}`,
    ...list('authors', spec.authors ?? ['Bench Author']),
    `bindir: ${quote(spec.bindir ?? 'exe')}`,
    'dependencies: []',
    ...list('executables', spec.executables ?? []),
    ...list('extensions', spec.extensions ?? []),
    ...list('files', spec.files),
    ...list('licenses', spec.licenses ?? ['MIT']),
    ...list('require_paths', spec.requirePaths ?? ['lib']),
    'required_ruby_version: !ruby/object:Gem::Requirement',
    '  requirements:',
    '  - - ">="',
    '    - !ruby/object:Gem::Version',
    '      version: "0"',
    `rubygems_version: ${quote('3.3.15')}`,
    `specification_version: ${quote('4')}`,
    `summary: ${quote(spec.summary ?? `The ${spec.name} gem`)}`,
  ];
  if (spec.postInstallMessage !== undefined) lines.push(`post_install_message: ${quote(spec.postInstallMessage)}`);
  return `${lines.join('\n')}\n`;
}

function octal(header, value, offset, width) {
  header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii');
}

/** A ustar header; names past 100 bytes are split into prefix and name at a slash, as ustar allows. */
function tarHeader(path, size, mode) {
  const header = Buffer.alloc(512);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100 || Buffer.byteLength(path.slice(0, cut)) > 155) throw new Error(`path too long for ustar: ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  header.write(name, 0, 100, 'utf8');
  octal(header, mode, 100, 8);
  octal(header, 0, 108, 8);
  octal(header, 0, 116, 8);
  octal(header, size, 124, 12);
  octal(header, MTIME, 136, 12);
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** A tar of regular files: `[{ path, body, mode }]`. */
export function tarOf(files) {
  const blocks = [];
  for (const { path, body, mode } of files) {
    blocks.push(tarHeader(path, body.length, mode ?? 0o644), body);
    const pad = (512 - (body.length % 512)) % 512;
    if (pad > 0) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The .gem bytes: `files` as `[{ path, body, mode }]`, `spec` as for gemspecYaml (files default to the paths given). */
export function packGem(spec, files) {
  const metadata = gzipSync(gemspecYaml({ ...spec, files: spec.files ?? files.map((f) => f.path) }));
  const data = gzipSync(tarOf(files));
  const sums = ['---'];
  for (const [label, algorithm] of [['SHA256', 'sha256'], ['SHA512', 'sha512']]) {
    sums.push(`${label}:`);
    for (const [member, body] of [['metadata.gz', metadata], ['data.tar.gz', data]]) sums.push(`  ${member}: ${createHash(algorithm).update(body).digest('hex')}`);
  }
  return tarOf([
    { path: 'metadata.gz', body: metadata, mode: 0o444 },
    { path: 'data.tar.gz', body: data, mode: 0o444 },
    { path: 'checksums.yaml.gz', body: gzipSync(`${sums.join('\n')}\n`), mode: 0o444 },
  ]);
}
