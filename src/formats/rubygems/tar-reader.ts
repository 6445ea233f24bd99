import { Parser, type ReadEntry } from 'tar';
import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';

/**
 * Incremental, strict wrapper around tar's Parser for the two tar layers of a .gem (the outer
 * plain tar and data.tar.gz's content). Strict mode turns every warning (bad checksum,
 * truncation, unknown format) into an error, so garbage cannot pass as an empty archive; errors
 * our handler throws inside the parser's events are re-thrown from `write`/`end`.
 */

export interface TarReaderHandlers {
  /** Names the archive in messages, e.g. `the gem` or `"data.tar.gz"`. */
  label: string;
  onEntry: (entry: ReadEntry) => void;
}

export class StrictTarReader {
  readonly #parser: Parser;
  readonly #label: string;
  #failure: unknown;
  #done = false;
  #head: Buffer | undefined = Buffer.alloc(0);
  #lastEntry: string | undefined;

  constructor(handlers: TarReaderHandlers) {
    this.#label = handlers.label;
    // Compression sniffing off: the input is already decompressed and must be plain tar.
    this.#parser = new Parser({ strict: true, zstd: false, brotli: false });
    const fail = (error: unknown): never => {
      this.#failure ??= error;
      throw this.#failure;
    };
    const onEntry = (entry: ReadEntry): void => {
      this.#lastEntry = entry.path;
      try {
        handlers.onEntry(entry);
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
      // tar cuts pax/GNU long names at a NUL; Ruby's TarReader does not, so the name is ambiguous.
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

  write(chunk: Buffer): void {
    if (this.#head !== undefined) {
      // tar's Parser would transparently gunzip a nested stream, bypassing our output budget.
      const head = Buffer.concat([this.#head, chunk]);
      if (head.length < 2) {
        this.#head = head;
        return;
      }
      this.#head = undefined;
      if (head[0] === 0x1f && head[1] === 0x8b) {
        throw new StockadeError('INVALID_ARCHIVE', [`${this.#label} is not a tar archive (it is gzip-compressed)`]);
      }
      chunk = head;
    }
    this.#run(() => this.#parser.write(chunk));
  }

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
