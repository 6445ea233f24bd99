import type { ContentView, EntryType, ViewEntry } from './types.js';

/** How much of an artifact's contents a view holds in memory. */
export interface ViewBudget {
  /** Bodies larger than this are listed but not kept. */
  maxFileBytes: number;
  /** Bodies stop being kept once this many bytes are held. */
  maxTotalBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_VIEW_BUDGET: Readonly<ViewBudget> = Object.freeze({
  maxFileBytes: 16 * MiB,
  maxTotalBytes: 256 * MiB,
});

const BINARY_SNIFF_BYTES = 8192;

export interface ViewEntryInput {
  path: string;
  type: EntryType;
  size: number;
  mode?: number;
  linkTarget?: string;
  body?: Buffer;
}

/**
 * Builds a view from entries an archive reader has already checked (safe relative paths, no
 * duplicates). Bodies beyond the budget are dropped and their entries marked `kept: false`.
 */
export function createContentView(inputs: Iterable<ViewEntryInput>, budget: Partial<ViewBudget> = {}): ContentView {
  const limits = { ...DEFAULT_VIEW_BUDGET, ...budget };
  const entries: ViewEntry[] = [];
  const byPath = new Map<string, ViewEntry>();
  const bodies = new Map<string, Buffer>();
  const texts = new Map<string, string | undefined>();
  let held = 0;
  let unpackedSize = 0;

  for (const input of inputs) {
    const isFile = input.type === 'file';
    let kept = false;
    if (isFile) {
      unpackedSize += input.size;
      const body = input.body;
      if (body !== undefined && body.length <= limits.maxFileBytes && held + body.length <= limits.maxTotalBytes) {
        bodies.set(input.path, body);
        held += body.length;
        kept = true;
      }
    }
    const entry: ViewEntry = Object.freeze({
      path: input.path,
      type: input.type,
      size: input.size,
      mode: input.mode ?? 0,
      kept,
      ...(input.linkTarget !== undefined ? { linkTarget: input.linkTarget } : {}),
    });
    entries.push(entry);
    byPath.set(entry.path, entry);
  }
  const files = Object.freeze(entries.filter((e) => e.type === 'file'));

  return Object.freeze({
    entries: Object.freeze(entries),
    files,
    unpackedSize,
    get: (path: string) => byPath.get(path),
    read: (path: string) => bodies.get(path),
    text(path: string): string | undefined {
      if (texts.has(path)) return texts.get(path);
      const body = bodies.get(path);
      const text = body === undefined ? undefined : decodeText(body);
      texts.set(path, text);
      return text;
    },
  });
}

/** UTF-8 text of a body, or undefined when it looks binary. */
export function decodeText(body: Buffer): string | undefined {
  const sniff = body.subarray(0, BINARY_SNIFF_BYTES);
  if (sniff.includes(0)) return undefined;
  return body.toString('utf8').replace(/^\uFEFF/, '');
}
