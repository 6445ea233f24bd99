import { Parser, type ReadEntry } from 'tar';
import { StockadeError } from '../../errors.js';
import type { ViewBudget } from '../../security/view.js';
import { printable } from '../npm/names.js';
import type { ArchiveEntryType } from './paths.js';

/**
 * Strict, incremental tar reading for the formats that open uploaded tarballs (the .deb control
 * and data tarballs, both tar layers of a .gem). Strict mode turns every warning of tar's Parser
 * (bad checksum, truncation, unknown format) into an error, so garbage cannot pass as an empty
 * archive; errors the entry handler throws inside the parser's events are re-thrown from
 * `write`/`end`. Every error is a StockadeError: UNSAFE_ARCHIVE or INVALID_ARCHIVE.
 */

/** tar's entry type names as the file kinds an extractor creates; anything else is unsupported. */
export const TAR_ENTRY_TYPES: Readonly<Partial<Record<string, ArchiveEntryType>>> = Object.freeze({
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  GNUDumpDir: 'directory',
  SymbolicLink: 'symlink',
  Link: 'link',
});

export interface StrictTarReaderOptions {
  /** Names the archive in messages, quoted where it is a file name: `the gem`, `"data.tar.xz"`. */
  label: string;
  /** Called for every entry, including those of a type tar does not know. */
  onEntry: (entry: ReadEntry) => void;
  /**
   * Why gzip'd input is refused, as in `<label> is not a tar archive (<why>)`. Defaults to
   * `it is gzip-compressed`.
   */
  gzipReason?: string;
}

export class StrictTarReader {
  readonly #parser: Parser;
  readonly #label: string;
  readonly #gzipReason: string;
  #failure: unknown;
  #done = false;
  #head: Buffer | undefined = Buffer.alloc(0);
  #lastEntry: string | undefined;

  constructor(options: StrictTarReaderOptions) {
    this.#label = options.label;
    this.#gzipReason = options.gzipReason ?? 'it is gzip-compressed';
    // Compression sniffing off: the input is already decompressed and must be plain tar.
    this.#parser = new Parser({ strict: true, zstd: false, brotli: false });
    const fail = (error: unknown): never => {
      this.#failure ??= error;
      throw this.#failure;
    };
    const onEntry = (entry: ReadEntry): void => {
      this.#lastEntry = entry.path;
      try {
        options.onEntry(entry);
      } catch (error) {
        fail(error);
      }
    };
    this.#parser.on('entry', onEntry);
    this.#parser.on('ignoredEntry', (entry: ReadEntry) => {
      // Oversized pax headers are skipped by tar itself; anything else is an unknown entry type.
      if (entry.meta) return;
      onEntry(entry);
    });
    this.#parser.on('meta', (text: string) => {
      // tar cuts pax/GNU long names at a NUL; dpkg and Ruby's TarReader do not, so the name is ambiguous.
      if (/\0+[^\0]/.test(text)) {
        fail(new StockadeError('UNSAFE_ARCHIVE', [`${this.#where()}: an extended header contains a NUL byte`]));
      }
    });
    this.#parser.on('error', (error: Error) => {
      const detail = printable(error.message.replace(/^TAR_[A-Z_]+: /, ''), 120);
      fail(new StockadeError('INVALID_ARCHIVE', [`${this.#where()}: corrupt tar archive (${detail})`]));
    });
    this.#parser.on('end', () => {
      this.#done = true;
    });
  }

  #where(): string {
    return this.#lastEntry === undefined ? this.#label : `${this.#label} after entry "${printable(this.#lastEntry, 120)}"`;
  }

  /** Feeds the next chunk of the tar stream; any size, including less than a block. */
  write(chunk: Buffer): void {
    if (this.#head !== undefined) {
      // tar's Parser would transparently gunzip a nested stream, bypassing the caller's output budget.
      const head = Buffer.concat([this.#head, chunk]);
      if (head.length < 2) {
        this.#head = head;
        return;
      }
      this.#head = undefined;
      if (head[0] === 0x1f && head[1] === 0x8b) {
        throw new StockadeError('INVALID_ARCHIVE', [`${this.#label} is not a tar archive (${this.#gzipReason})`]);
      }
      chunk = head;
    }
    this.#run(() => this.#parser.write(chunk));
  }

  /** Ends the stream; throws unless tar saw a complete archive. */
  end(): void {
    const rest = this.#head;
    this.#head = undefined;
    this.#run(() => (rest !== undefined && rest.length > 0 ? this.#parser.end(rest) : this.#parser.end()));
    if (!this.#done) {
      throw new StockadeError('INVALID_ARCHIVE', [`${this.#where()}: the tar archive ended unexpectedly`]);
    }
  }

  #run(action: () => unknown): void {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      action();
    } catch (error) {
      if (this.#failure !== undefined) throw this.#failure;
      if (error instanceof StockadeError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new StockadeError('INVALID_ARCHIVE', [`${this.#where()}: corrupt tar archive (${printable(detail, 120)})`]);
    }
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/**
 * Keeps entry bodies for a content view within its budget. The declared size decides up front,
 * so a body is either kept whole or not at all.
 */
export class BodyCollector {
  readonly #budget: ViewBudget;
  readonly #chunks = new Map<string, Buffer[]>();
  #held = 0;

  constructor(budget: ViewBudget) {
    this.#budget = budget;
  }

  /**
   * Collects `entry`'s body under `path` when it fits, counting against at most `room` bytes
   * (the whole budget by default). Returns false, leaving the entry alone, when it does not.
   */
  keep(entry: ReadEntry, path: string, size: number, room = this.#budget.maxTotalBytes): boolean {
    if (size > this.#budget.maxFileBytes || this.#held + size > room) return false;
    this.#held += size;
    const chunks: Buffer[] = [];
    this.#chunks.set(path, chunks);
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    return true;
  }

  /** The kept bodies by path, once the archive has been read. */
  bodies(): Map<string, Buffer> {
    const bodies = new Map<string, Buffer>();
    for (const [path, chunks] of this.#chunks) bodies.set(path, Buffer.concat(chunks));
    return bodies;
  }
}
