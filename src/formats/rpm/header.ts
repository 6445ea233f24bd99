import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';
import { RegionTag, RPM_TYPE_NAMES, RpmType } from './tags.js';

/**
 * The RPM v3/v4 file layout, read as hostile input: a 96-byte lead, the signature header,
 * padding to 8 bytes, the main header, then the compressed payload. Every index entry is
 * checked against its data store before anything reads it, so accessors never go out of bounds.
 */

export interface HeaderLimits {
  /** Most index entries in one header (rpm itself refuses ~65k and more). */
  maxIndexEntries: number;
  /** Largest data store of the main header. */
  maxHeaderBytes: number;
  /** Largest data store of the signature header. */
  maxSignatureBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_HEADER_LIMITS: Readonly<HeaderLimits> = Object.freeze({
  maxIndexEntries: 65_536,
  maxHeaderBytes: 64 * MiB,
  maxSignatureBytes: 32 * MiB,
});

export const LEAD_SIZE = 96;
const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
const HEADER_PREAMBLE_SIZE = 16; // magic, 4 reserved bytes, index count, data size
const INDEX_ENTRY_SIZE = 16;
/** The only signature type rpm has produced since v3: a signature header follows the lead. */
const SIGNATURE_TYPE_HEADER = 5;

const FIXED_SIZES: Record<number, number | undefined> = {
  [RpmType.CHAR]: 1,
  [RpmType.INT8]: 1,
  [RpmType.INT16]: 2,
  [RpmType.INT32]: 4,
  [RpmType.INT64]: 8,
  [RpmType.BIN]: 1,
};

export interface RpmLead {
  major: number;
  minor: number;
  /** 0 binary, 1 source. Informational: the header decides (SOURCEPACKAGE / SOURCERPM). */
  type: number;
  /** NEVR-ish name rpm wrote into the lead, NUL-padded to 66 bytes; informational only. */
  name: string;
  signatureType: number;
}

export interface RpmHeaderEntry {
  tag: number;
  type: number;
  /** Offset of the data inside the data store. */
  offset: number;
  count: number;
  /** Bytes the data occupies in the store, computed and checked at parse time. */
  length: number;
}

export type HeaderKind = 'signature header' | 'header';

/** One parsed header structure (signature or main), with typed, bounds-checked accessors. */
export class RpmHeader {
  readonly kind: HeaderKind;
  /** Offset of the header magic in the file. */
  readonly start: number;
  /** Offset just past the data store. */
  readonly end: number;
  readonly entries: ReadonlyMap<number, RpmHeaderEntry>;
  private readonly store: Buffer;

  constructor(kind: HeaderKind, start: number, end: number, store: Buffer, entries: Map<number, RpmHeaderEntry>) {
    this.kind = kind;
    this.start = start;
    this.end = end;
    this.store = store;
    this.entries = entries;
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  /** A STRING, or the first (untranslated) string of an I18NSTRING. */
  string(tag: number): string | undefined {
    const entry = this.entries.get(tag);
    if (entry === undefined) return undefined;
    if (entry.type !== RpmType.STRING && entry.type !== RpmType.I18NSTRING) this.wrongType(entry, 'a string');
    return this.readStrings(entry, 1)[0];
  }

  /** STRING_ARRAY, I18NSTRING or a single STRING as a list. */
  strings(tag: number): string[] | undefined {
    const entry = this.entries.get(tag);
    if (entry === undefined) return undefined;
    if (entry.type !== RpmType.STRING_ARRAY && entry.type !== RpmType.I18NSTRING && entry.type !== RpmType.STRING) {
      this.wrongType(entry, 'a string array');
    }
    return this.readStrings(entry, entry.count);
  }

  /** Any integer type as a list of numbers; INT64 values beyond 2^53 are refused. */
  numbers(tag: number): number[] | undefined {
    const entry = this.entries.get(tag);
    if (entry === undefined) return undefined;
    const values: number[] = [];
    const at = entry.offset;
    switch (entry.type) {
      case RpmType.CHAR:
      case RpmType.INT8:
        for (let i = 0; i < entry.count; i++) values.push(this.store.readUInt8(at + i));
        break;
      case RpmType.INT16:
        for (let i = 0; i < entry.count; i++) values.push(this.store.readUInt16BE(at + 2 * i));
        break;
      case RpmType.INT32:
        for (let i = 0; i < entry.count; i++) values.push(this.store.readUInt32BE(at + 4 * i));
        break;
      case RpmType.INT64:
        for (let i = 0; i < entry.count; i++) {
          const value = this.store.readBigUInt64BE(at + 8 * i);
          if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
            throw new StockadeError('INVALID_ARCHIVE', [`${this.kind} tag ${entry.tag} holds an integer too large (${value})`]);
          }
          values.push(Number(value));
        }
        break;
      default:
        this.wrongType(entry, 'an integer');
    }
    return values;
  }

  /** The first value of an integer entry. */
  number(tag: number): number | undefined {
    return this.numbers(tag)?.[0];
  }

  bytes(tag: number): Buffer | undefined {
    const entry = this.entries.get(tag);
    if (entry === undefined) return undefined;
    if (entry.type !== RpmType.BIN) this.wrongType(entry, 'binary data');
    return this.store.subarray(entry.offset, entry.offset + entry.length);
  }

  private readStrings(entry: RpmHeaderEntry, count: number): string[] {
    const values: string[] = [];
    let at = entry.offset;
    for (let i = 0; i < count; i++) {
      // Termination inside the store was checked when the header was parsed.
      const nul = this.store.indexOf(0, at);
      values.push(this.store.toString('utf8', at, nul));
      at = nul + 1;
    }
    return values;
  }

  private wrongType(entry: RpmHeaderEntry, expected: string): never {
    const actual = RPM_TYPE_NAMES[entry.type] ?? String(entry.type);
    throw new StockadeError('INVALID_ARCHIVE', [`${this.kind} tag ${entry.tag} has type ${actual}, expected ${expected}`]);
  }
}

export interface RpmLayout {
  lead: RpmLead;
  signature: RpmHeader;
  header: RpmHeader;
  /** The main header's bytes in the file, as createrepo's rpm:header-range: [start, end). */
  headerRange: { start: number; end: number };
  /** Where the compressed payload starts (equals headerRange.end). */
  payloadOffset: number;
}

/** Reads the lead and both headers. Throws INVALID_ARCHIVE naming where the file is broken. */
export function readRpmLayout(data: Buffer, limits: Partial<HeaderLimits> = {}): RpmLayout {
  const opts: HeaderLimits = { ...DEFAULT_HEADER_LIMITS, ...limits };
  const lead = readLead(data);
  const signature = readHeader(data, LEAD_SIZE, 'signature header', opts.maxSignatureBytes, opts.maxIndexEntries);
  // Only the signature header is padded: the main header starts on an 8-byte boundary.
  const headerStart = signature.end + ((8 - ((signature.end - LEAD_SIZE) % 8)) % 8);
  if (headerStart > data.length) {
    throw new StockadeError('INVALID_ARCHIVE', [`file is truncated in the padding after the signature header (at offset ${data.length})`]);
  }
  const header = readHeader(data, headerStart, 'header', opts.maxHeaderBytes, opts.maxIndexEntries);
  return {
    lead,
    signature,
    header,
    headerRange: { start: header.start, end: header.end },
    payloadOffset: header.end,
  };
}

function readLead(data: Buffer): RpmLead {
  if (data.length < LEAD_MAGIC.length || !data.subarray(0, LEAD_MAGIC.length).equals(LEAD_MAGIC)) {
    throw new StockadeError('INVALID_ARCHIVE', ['not an RPM package (the lead magic ed ab ee db is missing)']);
  }
  if (data.length < LEAD_SIZE) {
    throw new StockadeError('INVALID_ARCHIVE', [`file is truncated in the lead (${data.length} of ${LEAD_SIZE} bytes)`]);
  }
  const major = data.readUInt8(4);
  const minor = data.readUInt8(5);
  if (major !== 3 && major !== 4) {
    throw new StockadeError('INVALID_ARCHIVE', [`unsupported RPM lead version ${major}.${minor} (3 or 4 expected)`]);
  }
  const signatureType = data.readUInt16BE(78);
  if (signatureType !== SIGNATURE_TYPE_HEADER) {
    throw new StockadeError('INVALID_ARCHIVE', [`unsupported signature type ${signatureType} in the lead (5 expected)`]);
  }
  const nameField = data.subarray(10, 76);
  const nul = nameField.indexOf(0);
  return {
    major,
    minor,
    type: data.readUInt16BE(6),
    name: nameField.toString('latin1', 0, nul === -1 ? nameField.length : nul),
    signatureType,
  };
}

function truncated(kind: HeaderKind, part: string, at: number): never {
  throw new StockadeError('INVALID_ARCHIVE', [`file is truncated in the ${kind} ${part} (at offset ${at})`]);
}

function readHeader(data: Buffer, start: number, kind: HeaderKind, maxStore: number, maxEntries: number): RpmHeader {
  if (start + HEADER_PREAMBLE_SIZE > data.length) truncated(kind, 'preamble', start);
  if (!data.subarray(start, start + HEADER_MAGIC.length).equals(HEADER_MAGIC)) {
    throw new StockadeError('INVALID_ARCHIVE', [`bad ${kind} magic at offset ${start} (8e ad e8 01 expected)`]);
  }
  const indexCount = data.readUInt32BE(start + 8);
  const storeSize = data.readUInt32BE(start + 12);
  if (indexCount === 0) {
    throw new StockadeError('INVALID_ARCHIVE', [`the ${kind} at offset ${start} has no index entries`]);
  }
  if (indexCount > maxEntries) {
    throw new StockadeError('INVALID_ARCHIVE', [`the ${kind} declares ${indexCount} index entries (limit ${maxEntries})`]);
  }
  if (storeSize > maxStore) {
    throw new StockadeError('INVALID_ARCHIVE', [`the ${kind} declares a ${storeSize}-byte data store (limit ${maxStore})`]);
  }
  const indexStart = start + HEADER_PREAMBLE_SIZE;
  const storeStart = indexStart + indexCount * INDEX_ENTRY_SIZE;
  const end = storeStart + storeSize;
  if (storeStart > data.length) truncated(kind, 'index', data.length);
  if (end > data.length) truncated(kind, 'data store', data.length);
  const store = data.subarray(storeStart, end);

  const entries = new Map<number, RpmHeaderEntry>();
  let previousEnd = 0;
  for (let i = 0; i < indexCount; i++) {
    const at = indexStart + i * INDEX_ENTRY_SIZE;
    const entry: RpmHeaderEntry = {
      tag: data.readUInt32BE(at),
      type: data.readUInt32BE(at + 4),
      offset: data.readUInt32BE(at + 8),
      count: data.readUInt32BE(at + 12),
      length: 0,
    };
    const where = `${kind} index entry ${i} (tag ${entry.tag})`;
    entry.length = checkEntry(entry, store, where);
    if (entries.has(entry.tag)) {
      // Two copies of a tag: which one rpm uses is an implementation detail a scanner must not guess.
      throw new StockadeError('INVALID_ARCHIVE', [`${where} duplicates an earlier entry`]);
    }
    // The leading region entry points at its trailer at the end of the store; rpm skips it too.
    const isLeadingRegion = i === 0 && isRegionTag(entry.tag);
    if (!isLeadingRegion) {
      if (entry.offset < previousEnd) {
        throw new StockadeError('INVALID_ARCHIVE', [`${where} overlaps the data of the previous entry`]);
      }
      previousEnd = entry.offset + entry.length;
    }
    entries.set(entry.tag, entry);
  }
  return new RpmHeader(kind, start, end, store, entries);
}

function isRegionTag(tag: number): boolean {
  return tag === RegionTag.HEADERIMAGE || tag === RegionTag.HEADERSIGNATURES || tag === RegionTag.HEADERIMMUTABLE;
}

/** Validates one index entry against the store and returns the length of its data. */
function checkEntry(entry: RpmHeaderEntry, store: Buffer, where: string): number {
  const { type, offset, count } = entry;
  if (type > RpmType.I18NSTRING) {
    throw new StockadeError('INVALID_ARCHIVE', [`${where} has unknown type ${type}`]);
  }
  if (offset > store.length) {
    throw new StockadeError('INVALID_ARCHIVE', [`${where} points outside the data store (offset ${offset}, store size ${store.length})`]);
  }
  if (type === RpmType.NULL) return 0;
  if (count === 0) {
    throw new StockadeError('INVALID_ARCHIVE', [`${where} has a count of 0`]);
  }
  const size = FIXED_SIZES[type];
  if (size !== undefined) {
    if (offset % size !== 0 && type !== RpmType.BIN) {
      throw new StockadeError('INVALID_ARCHIVE', [`${where} is not aligned to ${size} bytes (offset ${offset})`]);
    }
    const length = count * size;
    if (length > store.length - offset) {
      throw new StockadeError('INVALID_ARCHIVE', [
        `${where} runs past the end of the data store (${count} × ${size} bytes at offset ${offset}, store size ${store.length})`,
      ]);
    }
    return length;
  }
  if (type === RpmType.STRING && count !== 1) {
    throw new StockadeError('INVALID_ARCHIVE', [`${where} is a STRING with count ${count} (1 expected)`]);
  }
  // Every string takes at least its NUL, so a count beyond the remaining bytes cannot fit.
  if (count > store.length - offset) {
    throw new StockadeError('INVALID_ARCHIVE', [`${where} declares ${count} strings, more than fit in the data store`]);
  }
  let at = offset;
  for (let i = 0; i < count; i++) {
    const nul = store.indexOf(0, at);
    if (nul === -1) {
      throw new StockadeError('INVALID_ARCHIVE', [`${where} has a string without a NUL terminator in the data store`]);
    }
    at = nul + 1;
  }
  return at - offset;
}

/** For messages: an untrusted header string, escaped and cut. */
export function quoteValue(value: string, max = 120): string {
  return `"${printable(value, max)}"`;
}
