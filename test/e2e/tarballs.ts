/**
 * npm tarballs built byte by byte for the e2e suites, including hostile ones no packer would
 * write (`..` entries, absolute paths, links out of the package).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  /** The path inside the archive, written as is (`package/…`, `../x`, `/etc/x`). */
  path: string;
  /** File content; omitted for directories and links. */
  content?: string | Buffer;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  /** Link target for symlinks and hard links. */
  linkname?: string;
  mode?: number;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

const TYPE_FLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;

/**
 * A POSIX ustar archive written byte by byte, so tests control every header field (the `tar`
 * package refuses to write many of the archives a server must reject).
 */
export function buildTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const content = type === 'file' ? Buffer.from(entry.content ?? '') : Buffer.alloc(0);
    const header = Buffer.alloc(512);
    writeString(header, 0, 100, entry.path);
    writeOctal(header, 100, 8, entry.mode ?? (type === 'dir' ? 0o755 : 0o644));
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, content.length);
    writeOctal(header, 136, 12, 1_700_000_000);
    header.fill(' ', 148, 156);
    writeString(header, 156, 1, TYPE_FLAG[type]);
    writeString(header, 157, 100, entry.linkname ?? '');
    writeString(header, 257, 6, 'ustar\0');
    writeString(header, 263, 2, '00');
    let sum = 0;
    for (const byte of header) sum += byte;
    writeString(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, content);
    const pad = (512 - (content.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function buildTgz(entries: TarEntry[]): Buffer {
  return gzipSync(buildTar(entries));
}

/** A well-formed npm tarball: `package/package.json`, `package/index.js` and any extra entries. */
export function packageTgz(pkgJson: Record<string, unknown>, extra: TarEntry[] = []): Buffer {
  return buildTgz([
    { path: 'package/package.json', content: `${JSON.stringify(pkgJson, null, 2)}\n` },
    { path: 'package/index.js', content: `module.exports = ${JSON.stringify(`${String(pkgJson.name)}@${String(pkgJson.version)}`)};\n` },
    ...extra,
  ]);
}

export function integrityOf(data: Buffer): { integrity: string; shasum: string } {
  return {
    integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
    shasum: createHash('sha1').update(data).digest('hex'),
  };
}
