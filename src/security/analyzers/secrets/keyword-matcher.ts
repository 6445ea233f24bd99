/** A keyword a detector needs in a file before it runs. */
export interface Keyword {
  text: string;
  /** Matched ignoring ASCII case when false. */
  caseSensitive: boolean;
}

/** Takes the file's UTF-8 bytes (or its text): ASCII keywords look the same in both. */
export type KeywordMatcher = (content: Uint8Array | string) => ReadonlySet<string>;

const lowerCode = (c: number): number => (c >= 65 && c <= 90 ? c | 32 : c);
// Byte → ASCII lower case; 255 for non-ASCII bytes, which never start a keyword pair.
const FOLD = Uint8Array.from({ length: 256 }, (_, b) => (b >= 128 ? 255 : lowerCode(b)));

/**
 * Finds which of many keywords occur in a text in one pass. Calling `includes` per keyword costs
 * a full scan each (about a hundred scans per file); here a table keyed by each keyword's first
 * two characters (ASCII case folded) sends each position to the few keywords that can start
 * there, and the scan stops once every keyword has been seen. Keys are the keyword texts, lower
 * cased for case-insensitive ones.
 */
export function createKeywordMatcher(keywords: readonly Keyword[]): KeywordMatcher {
  const unique = new Map<string, Keyword>();
  for (const k of keywords) {
    if (k.text.length < 2 || /[^\x20-\x7e]/.test(k.text)) throw new Error(`keyword "${k.text}" must be 2+ printable ASCII characters`);
    const key = k.caseSensitive ? k.text : k.text.toLowerCase();
    const seen = unique.get(key);
    if (!seen || (seen.caseSensitive && !k.caseSensitive)) unique.set(key, { text: key, caseSensitive: k.caseSensitive });
  }
  const buckets: Keyword[][] = [];
  // Indexed by two 7-bit characters; 0 = no keyword starts with that pair.
  const table = new Uint8Array(1 << 14);
  for (const k of unique.values()) {
    const pair = (lowerCode(k.text.charCodeAt(0)) << 7) | lowerCode(k.text.charCodeAt(1));
    if (table[pair] === 0) {
      buckets.push([]);
      if (buckets.length > 255) throw new Error('too many keyword buckets');
      table[pair] = buckets.length;
    }
    buckets[(table[pair] ?? 1) - 1]?.push(k);
  }
  const total = unique.size;

  return (content) => {
    // Scanning bytes is about three times faster than charCodeAt on a decoded string.
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const found = new Set<string>();
    // Pairs whose keywords have all been seen are cleared in a per-call copy of the table, so
    // frequent words (`key`, `token`) stop costing a comparison once found.
    let live = table;
    const n = bytes.length;
    let prev = FOLD[bytes[0] ?? 0] ?? 255;
    for (let i = 1; i < n; i++) {
      const cur = FOLD[bytes[i] ?? 0] ?? 255;
      if ((prev | cur) < 128) {
        const pair = (prev << 7) | cur;
        const b = live[pair] ?? 0;
        if (b !== 0) {
          const bucket = buckets[b - 1] ?? [];
          let done = true;
          for (const k of bucket) {
            if (!found.has(k.text) && matchesAt(bytes, i - 1, k)) found.add(k.text);
            if (!found.has(k.text)) done = false;
          }
          if (done) {
            if (found.size === total) break;
            if (live === table) live = table.slice();
            live[pair] = 0;
          }
        }
      }
      prev = cur;
    }
    return found;
  };
}

function matchesAt(bytes: Uint8Array, at: number, k: Keyword): boolean {
  const { text: word } = k;
  if (at + word.length > bytes.length) return false;
  for (let j = 0; j < word.length; j++) {
    const b = bytes[at + j] ?? 0;
    if ((k.caseSensitive ? b : (FOLD[b] ?? 255)) !== word.charCodeAt(j)) return false;
  }
  return true;
}
