import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Blob } from 'node:buffer';
import { Decompress as ZstdDecompress } from 'fzstd';
import xzDecompress from 'xz-decompress';
import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';

/**
 * RPM payloads: decompression within a budget and a strict reader for the SVR4 "newc" cpio
 * archive inside. Both treat the bytes as hostile: every size is checked before it is used.
 */

export interface PayloadLimits {
  /** Largest decompressed payload (cpio stream) in bytes. */
  maxUnpackedBytes: number;
  /** Highest decompressed:compressed ratio, enforced only past `ratioGraceBytes` of output. */
  maxRatio: number;
  /** Output any payload may reach whatever its ratio (tiny packages compress extremely well). */
  ratioGraceBytes: number;
  /** Most cpio entries. */
  maxFiles: number;
  /** Most path segments in one entry path. */
  maxDepth: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_PAYLOAD_LIMITS: Readonly<PayloadLimits> = Object.freeze({
  maxUnpackedBytes: 1024 * MiB,
  // Same reasoning as npm tarballs: real payloads stay far below 200:1 once past a few MiB.
  maxRatio: 200,
  ratioGraceBytes: 16 * MiB,
  maxFiles: 200_000,
  maxDepth: 64,
});

export type PayloadCompressor = 'gzip' | 'xz' | 'zstd';

/** The output budget for a compressed payload of `compressedSize` bytes. */
export function payloadBudget(compressedSize: number, limits: PayloadLimits): number {
  const byRatio = Math.max(limits.ratioGraceBytes, compressedSize * limits.maxRatio);
  return Math.min(limits.maxUnpackedBytes, byRatio);
}

function bombError(budget: number, compressedSize: number, limits: PayloadLimits): StockadeError {
  const why =
    budget === limits.maxUnpackedBytes
      ? 'the limit for unpacked payloads'
      : `a compression ratio above ${limits.maxRatio}:1 for a ${compressedSize}-byte payload: likely a decompression bomb`;
  return new StockadeError('UNSAFE_ARCHIVE', [`the payload decompresses to more than ${budget} bytes (${why})`]);
}

const MAGIC: Record<PayloadCompressor, Buffer> = {
  gzip: Buffer.from([0x1f, 0x8b]),
  xz: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
};

/** Decompresses a payload, failing with UNSAFE_ARCHIVE as soon as the output exceeds the budget. */
export async function decompressPayload(
  compressed: Buffer,
  compressor: PayloadCompressor,
  limits: Partial<PayloadLimits> = {},
): Promise<Buffer> {
  const opts: PayloadLimits = { ...DEFAULT_PAYLOAD_LIMITS, ...limits };
  const magic = MAGIC[compressor];
  if (!compressed.subarray(0, magic.length).equals(magic)) {
    throw new StockadeError('INVALID_ARCHIVE', [`the payload is not ${compressor}-compressed as its header says`]);
  }
  const budget = payloadBudget(compressed.length, opts);
  switch (compressor) {
    case 'gzip':
      return gunzipWithin(compressed, budget, opts);
    case 'zstd':
      return unzstdWithin(compressed, budget, opts);
    case 'xz':
      return unxzWithin(compressed, budget, opts);
  }
}

function gunzipWithin(compressed: Buffer, budget: number, limits: PayloadLimits): Buffer {
  try {
    return gunzipSync(compressed, { maxOutputLength: budget });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw bombError(budget, compressed.length, limits);
    throw new StockadeError('INVALID_ARCHIVE', [`corrupt gzip payload (${printable((error as Error).message, 120)})`]);
  }
}

function unzstdWithin(compressed: Buffer, budget: number, limits: PayloadLimits): Buffer {
  // fzstd allocates each frame's declared window up front, so a tiny frame could ask for 2 GiB.
  checkZstdFrames(compressed, budget, limits);
  const chunks: Buffer[] = [];
  let total = 0;
  let overBudget = false;
  const decoder = new ZstdDecompress((chunk) => {
    total += chunk.length;
    if (total > budget) {
      overBudget = true;
      throw bombError(budget, compressed.length, limits);
    }
    chunks.push(Buffer.from(chunk));
  });
  try {
    decoder.push(compressed, true);
  } catch (error) {
    if (overBudget) throw error;
    throw new StockadeError('INVALID_ARCHIVE', [`corrupt zstd payload (${printable((error as Error).message, 120)})`]);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Walks the zstd frames (RFC 8878) without decoding them and refuses any frame whose window
 * or declared content size exceeds the budget. Structural damage is left to the decoder.
 */
function checkZstdFrames(data: Buffer, budget: number, limits: PayloadLimits): void {
  let at = 0;
  while (at + 4 <= data.length) {
    const magic = data.readUInt32LE(at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (at + 8 > data.length) return;
      at += 8 + data.readUInt32LE(at + 4);
      continue;
    }
    if (magic !== 0xfd2fb528 || at + 5 > data.length) return;
    const descriptor = data.readUInt8(at + 4);
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    const dictionaryIdFlag = descriptor & 0x03;
    let cursor = at + 5;
    let window = 0;
    if (!singleSegment) {
      if (cursor >= data.length) return;
      const windowByte = data.readUInt8(cursor++);
      const base = 2 ** (10 + (windowByte >> 3));
      window = base + (base / 8) * (windowByte & 7);
    }
    cursor += [0, 1, 2, 4][dictionaryIdFlag] ?? 0;
    const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag] ?? 0;
    if (cursor + contentSizeBytes > data.length) return;
    let contentSize = 0;
    if (contentSizeBytes === 1) contentSize = data.readUInt8(cursor);
    else if (contentSizeBytes === 2) contentSize = data.readUInt16LE(cursor) + 256;
    else if (contentSizeBytes === 4) contentSize = data.readUInt32LE(cursor);
    else if (contentSizeBytes === 8) contentSize = Number(data.readBigUInt64LE(cursor));
    cursor += contentSizeBytes;
    if (singleSegment) window = contentSize;
    // A window may exceed the output (the encoder's choice), but never the absolute cap.
    if (contentSize > budget || window > Math.max(budget, Math.min(limits.maxUnpackedBytes, 128 * MiB))) {
      throw bombError(budget, data.length, limits);
    }
    // Blocks: 3-byte little-endian header (last flag, type, size); RLE blocks store one byte.
    for (;;) {
      if (cursor + 3 > data.length) return;
      const blockHeader = data.readUIntLE(cursor, 3);
      const last = (blockHeader & 1) === 1;
      const blockType = (blockHeader >> 1) & 3;
      const blockSize = blockHeader >> 3;
      cursor += 3 + (blockType === 1 ? 1 : blockSize);
      if (last) break;
    }
    if ((descriptor & 0x04) !== 0) cursor += 4; // content checksum
    at = cursor;
  }
}

async function unxzWithin(compressed: Buffer, budget: number, limits: PayloadLimits): Promise<Buffer> {
  const { stream: input, blocks } = stripXzChecks(compressed);
  const stream = new xzDecompress.XzReadableStream(new Blob([input]).stream() as ReadableStream<Uint8Array>);
  const reader = stream.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > budget) {
        await reader.cancel().catch(() => undefined);
        throw bombError(budget, compressed.length, limits);
      }
      chunks.push(Buffer.from(value));
    }
  } catch (error) {
    if (error instanceof StockadeError) throw error;
    throw new StockadeError('INVALID_ARCHIVE', [`corrupt xz payload (${printable((error as Error).message, 120)})`]);
  }
  const output = Buffer.concat(chunks, total);
  verifyXzBlocks(output, blocks);
  return output;
}

interface XzBlock {
  uncompressedSize: number;
  checkType: number;
  check: Buffer;
}

const XZ_HEADER_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const XZ_FOOTER_MAGIC = Buffer.from([0x59, 0x5a]);
const XZ_CHECK_SHA256 = 10;

function xzCorrupt(detail: string): never {
  throw new StockadeError('INVALID_ARCHIVE', [`corrupt xz payload (${detail})`]);
}

function xzCheckSize(checkType: number): number {
  return checkType === 0 ? 0 : 4 << Math.floor((checkType - 1) / 3);
}

/** Reads an xz multibyte integer (7 bits per byte, at most 9 bytes) within `end`. */
function readXzVarint(data: Buffer, at: number, end: number): [value: number, next: number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (at + i >= end) xzCorrupt('the index ends inside a number');
    const byte = data[at + i] ?? 0;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) xzCorrupt('a size in the index is too large');
      return [value, at + i + 1];
    }
  }
  return xzCorrupt('a number in the index is longer than 9 bytes');
}

/**
 * The WebAssembly xz decoder (xz-embedded) only knows CRC32/CRC64 checks, and rpm writes
 * SHA-256. So the stream(s) are rewritten into one stream without checks, from the index
 * (block sizes are not always in block headers); the SHA-256 checks are verified afterwards.
 */
function stripXzChecks(data: Buffer): { stream: Buffer; blocks: XzBlock[] } {
  const streams: { blocks: Buffer[]; records: XzBlock[]; unpadded: number[] }[] = [];
  let end = data.length;
  while (end > 0) {
    // Stream padding: zero bytes in groups of four between and after streams.
    if (end >= 4 && data.readUInt32LE(end - 4) === 0) {
      end -= 4;
      continue;
    }
    if (end < 24) xzCorrupt('the stream is truncated');
    const footer = end - 12;
    if (!data.subarray(footer + 10, footer + 12).equals(XZ_FOOTER_MAGIC)) xzCorrupt('no stream footer');
    if (crc32(data.subarray(footer + 4, footer + 10)) !== data.readUInt32LE(footer)) xzCorrupt('bad stream footer checksum');
    const flags = data.subarray(footer + 8, footer + 10);
    const checkType = flags[1] ?? 0;
    if (flags[0] !== 0 || checkType > 15) xzCorrupt('unsupported stream flags');
    const indexSize = (data.readUInt32LE(footer + 4) + 1) * 4;
    const indexStart = footer - indexSize;
    if (indexStart < 12) xzCorrupt('the index lies outside the stream');
    if (data[indexStart] !== 0) xzCorrupt('no index indicator');
    if (crc32(data.subarray(indexStart, footer - 4)) !== data.readUInt32LE(footer - 4)) xzCorrupt('bad index checksum');
    const [count, afterCount] = readXzVarint(data, indexStart + 1, footer - 4);
    let at = afterCount;
    const sizes: [unpadded: number, uncompressed: number][] = [];
    let blocksSize = 0;
    for (let i = 0; i < count; i++) {
      const [unpadded, next] = readXzVarint(data, at, footer - 4);
      const [uncompressed, afterRecord] = readXzVarint(data, next, footer - 4);
      at = afterRecord;
      if (unpadded < 5 + xzCheckSize(checkType)) xzCorrupt('a block is too small');
      sizes.push([unpadded, uncompressed]);
      blocksSize += align4(unpadded);
    }
    const streamStart = indexStart - blocksSize - 12;
    if (streamStart < 0) xzCorrupt('the blocks lie outside the stream');
    if (!data.subarray(streamStart, streamStart + 6).equals(XZ_HEADER_MAGIC)) xzCorrupt('no stream header');
    if (!data.subarray(streamStart + 6, streamStart + 8).equals(flags)) xzCorrupt('stream header and footer disagree');
    const checkSize = xzCheckSize(checkType);
    const stream = { blocks: [] as Buffer[], records: [] as XzBlock[], unpadded: [] as number[] };
    let blockStart = streamStart + 12;
    for (const [unpadded, uncompressed] of sizes) {
      const withoutCheck = align4(unpadded - checkSize);
      stream.blocks.push(data.subarray(blockStart, blockStart + withoutCheck));
      const check = data.subarray(blockStart + withoutCheck, blockStart + withoutCheck + checkSize);
      stream.records.push({ uncompressedSize: uncompressed, checkType, check });
      stream.unpadded.push(unpadded - checkSize);
      blockStart += align4(unpadded);
    }
    streams.unshift(stream);
    end = streamStart;
  }
  if (streams.length === 0) xzCorrupt('empty');

  const flags = Buffer.from([0, 0]);
  const header = Buffer.concat([XZ_HEADER_MAGIC, flags, uint32le(crc32(flags))]);
  const records = streams.flatMap((s) => s.records);
  const unpaddedSizes = streams.flatMap((s) => s.unpadded);
  const indexParts: number[] = [0, ...xzVarint(records.length)];
  records.forEach((record, i) => indexParts.push(...xzVarint(unpaddedSizes[i] ?? 0), ...xzVarint(record.uncompressedSize)));
  while (indexParts.length % 4 !== 0) indexParts.push(0);
  const indexBody = Buffer.from(indexParts);
  const index = Buffer.concat([indexBody, uint32le(crc32(indexBody))]);
  const backward = Buffer.concat([uint32le(index.length / 4 - 1), flags]);
  const footer = Buffer.concat([uint32le(crc32(backward)), backward, XZ_FOOTER_MAGIC]);
  return { stream: Buffer.concat([header, ...streams.flatMap((s) => s.blocks), index, footer]), blocks: records };
}

function verifyXzBlocks(output: Buffer, blocks: XzBlock[]): void {
  let at = 0;
  blocks.forEach((block, i) => {
    const end = at + block.uncompressedSize;
    if (end > output.length) xzCorrupt(`block ${i} is shorter than its index says`);
    // Other check types (CRC64, …) are left to the decoder's own consistency checks.
    if (block.checkType === XZ_CHECK_SHA256) {
      const digest = createHash('sha256').update(output.subarray(at, end)).digest();
      if (!digest.equals(block.check)) xzCorrupt(`SHA-256 check of block ${i} does not match`);
    }
    at = end;
  });
  if (at !== output.length) xzCorrupt('the output is longer than the index says');
}

function xzVarint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

function uint32le(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value >>> 0);
  return buffer;
}

const CRC32_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE), as xz uses for its headers; zlib.crc32 only exists from Node 20.15. */
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export type CpioEntryType = 'file' | 'directory' | 'symlink' | 'special';

export interface CpioEntry {
  /** The name as stored, e.g. `./usr/bin/tool`. */
  name: string;
  /** The installed path without the leading `/` or `./`: `usr/bin/tool`. */
  path: string;
  type: CpioEntryType;
  mode: number;
  ino: number;
  nlink: number;
  /** The data as stored: file contents, or the target of a symlink. */
  body: Buffer;
}

const NEWC_HEADER_SIZE = 110;
const NEWC_FIELDS = 13;
const TRAILER_NAME = 'TRAILER!!!';
const MAX_NAME_BYTES = 4096; // PATH_MAX

const S_IFMT = 0o170000;
const TYPE_BY_MODE: Record<number, CpioEntryType | undefined> = {
  0o100000: 'file',
  0o040000: 'directory',
  0o120000: 'symlink',
};

/**
 * Reads a newc cpio archive (magic 070701 or 070702) entirely from memory. Rejects names with
 * NUL bytes, `..` segments or absolute paths and duplicate paths (UNSAFE_ARCHIVE), and anything
 * truncated or malformed (INVALID_ARCHIVE). Entry bodies are views into `archive`.
 */
export function readCpio(archive: Buffer, limits: Partial<PayloadLimits> = {}): CpioEntry[] {
  const opts: PayloadLimits = { ...DEFAULT_PAYLOAD_LIMITS, ...limits };
  const entries: CpioEntry[] = [];
  const seen = new Set<string>();
  let at = 0;
  let previous: string | undefined;
  const where = (): string => (previous === undefined ? 'at the start' : `after entry ${quote(previous)}`);

  for (;;) {
    if (at + NEWC_HEADER_SIZE > archive.length) {
      throw new StockadeError('INVALID_ARCHIVE', [`the cpio payload is truncated ${where()} (no ${TRAILER_NAME} entry)`]);
    }
    const magic = archive.toString('latin1', at, at + 6);
    if (magic !== '070701' && magic !== '070702') {
      throw new StockadeError('INVALID_ARCHIVE', [`unsupported cpio header ${quote(magic)} ${where()} (newc 070701 expected)`]);
    }
    const fields: number[] = [];
    for (let i = 0; i < NEWC_FIELDS; i++) {
      const text = archive.toString('latin1', at + 6 + 8 * i, at + 14 + 8 * i);
      if (!/^[0-9a-fA-F]{8}$/.test(text)) {
        throw new StockadeError('INVALID_ARCHIVE', [`cpio header ${where()} has a malformed field ${quote(text)}`]);
      }
      fields.push(Number.parseInt(text, 16));
    }
    const [ino = 0, mode = 0, , , nlink = 0, , fileSize = 0, , , , , nameSize = 0] = fields;
    if (nameSize < 2 || nameSize > MAX_NAME_BYTES) {
      throw new StockadeError('INVALID_ARCHIVE', [`cpio entry ${where()} has a name size of ${nameSize}`]);
    }
    const nameStart = at + NEWC_HEADER_SIZE;
    const dataStart = align4(nameStart + nameSize);
    const dataEnd = dataStart + fileSize;
    if (dataEnd > archive.length) {
      throw new StockadeError('INVALID_ARCHIVE', [`the cpio payload is truncated in the entry ${where()}`]);
    }
    const rawName = archive.subarray(nameStart, nameStart + nameSize);
    const name = rawName.toString('utf8', 0, nameSize - 1);
    if (rawName[nameSize - 1] !== 0) {
      throw new StockadeError('INVALID_ARCHIVE', [`cpio entry ${quote(name)} has a name without a NUL terminator`]);
    }
    if (rawName.subarray(0, nameSize - 1).includes(0)) {
      throw new StockadeError('UNSAFE_ARCHIVE', [`cpio entry ${quote(name)} has a NUL byte in its name`]);
    }
    at = align4(dataEnd);
    if (name === TRAILER_NAME) break;
    previous = name;

    if (entries.length >= opts.maxFiles) {
      throw new StockadeError('UNSAFE_ARCHIVE', [`the payload has more than ${opts.maxFiles} entries (at ${quote(name)})`]);
    }
    const path = checkedPath(name, opts.maxDepth);
    if (seen.has(path)) {
      // Extraction keeps the last copy, so a scanner reading the first would be fooled.
      throw new StockadeError('UNSAFE_ARCHIVE', [`the payload holds ${quote(path)} twice`]);
    }
    seen.add(path);
    const type = TYPE_BY_MODE[mode & S_IFMT] ?? 'special';
    if (type !== 'file' && type !== 'symlink' && fileSize !== 0) {
      throw new StockadeError('INVALID_ARCHIVE', [`cpio entry ${quote(name)} is a ${type} with ${fileSize} bytes of data`]);
    }
    const body = archive.subarray(dataStart, dataEnd);
    if (type === 'symlink' && body.includes(0)) {
      throw new StockadeError('UNSAFE_ARCHIVE', [`symlink ${quote(name)} has a NUL byte in its target`]);
    }
    entries.push({ name, path, type, mode, ino, nlink, body });
  }
  return entries;
}

function align4(offset: number): number {
  return (offset + 3) & ~3;
}

/** RPM stores `./usr/bin/x` (older packages `usr/bin/x`); anything escaping `/` is refused. */
function checkedPath(name: string, maxDepth: number): string {
  if (name.startsWith('/')) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`cpio entry ${quote(name)} has an absolute path`]);
  }
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`cpio entry ${quote(name)} has a ".." path segment`]);
  }
  if (segments.length === 0) {
    throw new StockadeError('INVALID_ARCHIVE', [`cpio entry ${quote(name)} names no file`]);
  }
  if (segments.length > maxDepth) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`cpio entry ${quote(name, 80)} is nested ${segments.length} levels deep (limit ${maxDepth})`]);
  }
  return segments.join('/');
}

function quote(value: string, max = 200): string {
  return `"${printable(value, max)}"`;
}
