import yauzl from 'yauzl';

/**
 * Reading files out of a zip archive that may be hostile: the entry count, each entry's size, the
 * total unpacked size and the compression ratio are bounded, sizes are checked while inflating
 * (never trusted from the headers alone), and names that climb out (`..`), are absolute or carry
 * control characters are refused entry by entry. Nothing is written to disk.
 */

export interface ZipLimits {
  /** Entries in the central directory, files and folders alike. */
  maxEntries: number;
  /** Unpacked size of one entry. */
  maxEntryBytes: number;
  /** Unpacked size of all entries read. */
  maxTotalBytes: number;
  /** Unpacked/packed size of one entry (zip bombs are ~1000:1; advisory JSON is ~5–30:1). */
  maxRatio: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 1_000_000,
  maxEntryBytes: 32 * MiB,
  maxTotalBytes: 8 * 1024 * MiB,
  maxRatio: 200,
});

/** Below this, an entry's ratio is not checked: a tiny file may compress very well and harm no one. */
const RATIO_FLOOR_BYTES = 64 * 1024;

export type ZipItem =
  | { kind: 'file'; name: string; entry: yauzl.Entry }
  | { kind: 'problem'; name: string; problem: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why an entry name is unsafe, or undefined. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.length === 0) return 'empty name';
  if (CONTROL.test(name)) return 'control characters in the name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'absolute path';
  if (name.split('/').includes('..')) return 'path climbs out of the archive (..)';
  return undefined;
}

/** A name safe to print in a report. */
export function printableName(name: string): string {
  return CONTROL.test(name) ? JSON.stringify(name) : name;
}

export class ZipArchive {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    readonly limits: ZipLimits,
    private totalBytes = 0,
  ) {}

  static async open(path: string, limits: Partial<ZipLimits> = {}): Promise<ZipArchive> {
    const zip = await yauzl.openPromise(path, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
    const archive = new ZipArchive(zip, { ...DEFAULT_ZIP_LIMITS, ...limits });
    if (zip.entryCount > archive.limits.maxEntries) {
      archive.close();
      throw new Error(`the archive has ${zip.entryCount} entries, more than the limit of ${archive.limits.maxEntries}`);
    }
    return archive;
  }

  /**
   * Regular-file entries in archive order, with names checked; folders are left out, unsafe
   * names and links come as problems. Throws when the central directory is corrupt.
   */
  async *entries(): AsyncGenerator<ZipItem> {
    const seen = new Set<string>();
    for await (const entry of this.zip.eachEntry()) {
      const raw = entry.fileNameRaw;
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, false);
      if (name.endsWith('/')) continue;
      const unsafe = unsafeEntryName(name);
      if (unsafe) {
        yield { kind: 'problem', name: printableName(name), problem: `refused: ${unsafe}` };
        continue;
      }
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (mode === 0o120000) {
        yield { kind: 'problem', name, problem: 'refused: symbolic link' };
        continue;
      }
      if (seen.has(name)) {
        yield { kind: 'problem', name, problem: 'refused: a second entry with the same name' };
        continue;
      }
      seen.add(name);
      yield { kind: 'file', name, entry };
    }
  }

  /**
   * An entry's bytes, within the limits. Throws with a reason for an entry over a limit or
   * corrupt; `TotalLimitError` when the archive's total budget is spent (stop reading then).
   */
  async read(entry: yauzl.Entry): Promise<Buffer> {
    const { maxEntryBytes, maxTotalBytes, maxRatio } = this.limits;
    if (entry.isEncrypted()) throw new Error('encrypted entry');
    if (entry.uncompressedSize > maxEntryBytes) {
      throw new Error(`unpacks to ${entry.uncompressedSize} bytes, more than the limit of ${maxEntryBytes}`);
    }
    if (entry.uncompressedSize > RATIO_FLOOR_BYTES && entry.uncompressedSize / Math.max(entry.compressedSize, 1) > maxRatio) {
      throw new Error(`compression ratio ${Math.round(entry.uncompressedSize / Math.max(entry.compressedSize, 1))}:1 is above the limit of ${maxRatio}:1`);
    }
    if (this.totalBytes + entry.uncompressedSize > maxTotalBytes) {
      throw new TotalLimitError(`the archive unpacks to more than the limit of ${maxTotalBytes} bytes`);
    }
    const stream = await this.zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        // yauzl already fails an entry whose data outgrows its declared size; this is the
        // belt to those braces.
        if (size > maxEntryBytes || size > entry.uncompressedSize) throw new Error('entry data larger than its declared size');
        chunks.push(chunk);
      }
    } finally {
      stream.destroy();
      this.totalBytes += size;
    }
    return Buffer.concat(chunks, size);
  }

  close(): void {
    this.zip.close();
  }
}

export class TotalLimitError extends Error {
  override name = 'TotalLimitError';
}
