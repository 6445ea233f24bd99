import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';

/**
 * A strict reader for the Unix `ar` container that wraps every `.deb`. Only the common
 * (System V / GNU) layout dpkg writes is understood: short names, optionally ending in `/`.
 * Member data is returned as views into the input buffer, never copied.
 */

export const AR_MAGIC = '!<arch>\n';
const HEADER_BYTES = 60;
const MEMBER_MAGIC = '`\n';

export interface ArMember {
  /** Name with trailing spaces and a GNU-style trailing `/` removed. */
  name: string;
  mtime: number;
  uid: number;
  gid: number;
  mode: number;
  size: number;
  /** Offset of the member's 60-byte header in the archive. */
  headerOffset: number;
  /** The member's bytes (a subarray of the input). */
  data: Buffer;
}

export interface ArLimits {
  /** Most members read before giving up; a .deb has three plus a few optional `_` members. */
  maxMembers: number;
}

export const DEFAULT_AR_LIMITS: Readonly<ArLimits> = Object.freeze({ maxMembers: 64 });

/** Parses a whole `ar` archive. Throws INVALID_ARCHIVE on anything malformed or truncated. */
export function readAr(data: Buffer, limits: Partial<ArLimits> = {}): ArMember[] {
  const { maxMembers } = { ...DEFAULT_AR_LIMITS, ...limits };
  if (data.length < AR_MAGIC.length || data.toString('latin1', 0, AR_MAGIC.length) !== AR_MAGIC) {
    throw new StockadeError('INVALID_ARCHIVE', ['not an ar archive (missing the "!<arch>" header a .deb starts with)']);
  }
  const members: ArMember[] = [];
  let offset = AR_MAGIC.length;
  while (offset < data.length) {
    if (members.length >= maxMembers) {
      throw new StockadeError('INVALID_ARCHIVE', [`ar archive has more than ${maxMembers} members`]);
    }
    if (offset + HEADER_BYTES > data.length) {
      throw new StockadeError('INVALID_ARCHIVE', [
        `truncated ar member header at offset ${offset} (${data.length - offset} of ${HEADER_BYTES} bytes present)`,
      ]);
    }
    const header = data.subarray(offset, offset + HEADER_BYTES);
    const field = (start: number, length: number): string => header.toString('latin1', start, start + length);
    if (field(58, 2) !== MEMBER_MAGIC) {
      throw new StockadeError('INVALID_ARCHIVE', [`corrupt ar member header at offset ${offset} (bad header magic)`]);
    }
    const name = parseName(field(0, 16), offset);
    const where = `ar member "${printable(name, 40)}" at offset ${offset}`;
    const member: ArMember = {
      name,
      mtime: parseNumber(field(16, 12), 10, `${where}: modification time`),
      uid: parseNumber(field(28, 6), 10, `${where}: owner id`),
      gid: parseNumber(field(34, 6), 10, `${where}: group id`),
      mode: parseNumber(field(40, 8), 8, `${where}: mode`),
      size: parseNumber(field(48, 10), 10, `${where}: size`),
      headerOffset: offset,
      data: Buffer.alloc(0),
    };
    const start = offset + HEADER_BYTES;
    const end = start + member.size;
    if (end > data.length) {
      throw new StockadeError('INVALID_ARCHIVE', [
        `truncated ar member "${printable(name, 40)}": its header declares ${member.size} bytes but only ${data.length - start} remain`,
      ]);
    }
    member.data = data.subarray(start, end);
    members.push(member);
    // Member data is padded to an even offset; binutils and dpkg always write the pad byte.
    const padded = end + (member.size % 2);
    if (padded > data.length) {
      throw new StockadeError('INVALID_ARCHIVE', [`truncated ar member "${printable(name, 40)}": the padding byte is missing`]);
    }
    offset = padded;
  }
  return members;
}

function parseName(raw: string, offset: number): string {
  const trimmed = raw.replace(/ +$/, '');
  // `/` (symbol table), `//` (long names) and BSD `#1/` names never occur in a .deb.
  if (trimmed === '' || trimmed === '/' || trimmed === '//' || trimmed.startsWith('#1/')) {
    throw new StockadeError('INVALID_ARCHIVE', [
      `ar member at offset ${offset} has the name "${printable(trimmed, 20)}", which a .deb never contains`,
    ]);
  }
  const name = trimmed.endsWith('/') ? trimmed.slice(0, -1) : trimmed;
  if (!/^[\x21-\x7e]+$/.test(name) || name.includes('/')) {
    throw new StockadeError('INVALID_ARCHIVE', [`ar member at offset ${offset} has an invalid name "${printable(name, 20)}"`]);
  }
  return name;
}

/** Digits, then only space padding: what ar writes. Anything else means a corrupt or forged header. */
function parseNumber(raw: string, radix: 8 | 10, what: string): number {
  const pattern = radix === 8 ? /^([0-7]+) *$/ : /^([0-9]+) *$/;
  const match = pattern.exec(raw);
  if (match === null) {
    throw new StockadeError('INVALID_ARCHIVE', [`${what} "${printable(raw.trim(), 20)}" is not ${radix === 8 ? 'an octal' : 'a decimal'} number`]);
  }
  return parseInt(match[1] as string, radix);
}
