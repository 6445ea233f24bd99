import { createHash } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StockadeError, isStockadeError } from '../../errors.js';

/** Hex digests of a blob's bytes, all computed in the one pass that stored it. */
export interface BlobDigests {
  sha256: string;
  sha512: string;
  sha1: string;
  md5: string;
  size: number;
}

export interface PutOptions {
  /** Rejects with BODY_TOO_LARGE as soon as more bytes than this arrive. */
  maxBytes?: number;
  /** Lowercase hex sha256 the bytes must hash to, else INTEGRITY_MISMATCH. */
  expectedSha256?: string;
  /** Aborting rejects with an AbortError and stores nothing. */
  signal?: AbortSignal;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Content-addressed blob storage. Blobs are named by the lowercase hex sha256 of their bytes; every
 * method rejects any other name with BAD_REQUEST. Storage failures surface as SERVICE_UNAVAILABLE.
 */
export interface BlobStat {
  size: number;
  storedAt: Date;
}

export interface BlobStore {
  /**
   * Streams `source` into the store, content-addressed by sha256. Atomic: the blob becomes visible
   * only when complete (temp file + fsync + rename); on any error (source stream error, abort,
   * `maxBytes` exceeded, `expectedSha256` mismatch) nothing is left visible and the temp data is
   * removed. Returns all digests computed while streaming; the body is never buffered whole.
   * Putting content that already exists is a no-op that returns the same digests, and concurrent
   * puts of the same content all succeed.
   */
  put(source: Readable | Buffer, options?: PutOptions): Promise<BlobDigests>;
  /**
   * Stores several files already in memory (bulk imports): each atomically, all durable when it
   * resolves, with the writes in flight together. On an error some may already be stored, which
   * is harmless: content-addressed blobs nothing references are collected as garbage.
   */
  putMany(data: readonly Buffer[]): Promise<BlobDigests[]>;
  /**
   * Streams a blob, or the inclusive byte `range` of it. Bytes past the end are not returned, so
   * callers answering HTTP range requests check `stat()` first to send 416. Throws NOT_FOUND.
   */
  get(sha256: string, range?: ByteRange): Promise<Readable>;
  /** Reads a whole blob into memory: only for metadata-sized blobs. Throws NOT_FOUND. */
  read(sha256: string): Promise<Buffer>;
  /**
   * Size of a stored blob and when it was last written (every put of the content renews it, so
   * garbage collection can spare blobs a publish has just stored), or null when it is absent.
   */
  stat(sha256: string): Promise<BlobStat | null>;
  /** Idempotent delete. */
  delete(sha256: string): Promise<void>;
  /** Every stored digest, in no particular order, for garbage collection. */
  list(): AsyncIterable<string>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
}

/** Where a driver receives the bytes of one put. Exactly one of commit or cancel ends it. */
export interface BlobWriter {
  /** Sink for the bytes; the wrapper pipes into it and waits for 'finish'. */
  readonly stream: Writable;
  /**
   * Makes the written bytes durable and visible under `sha256`. If that blob already exists the
   * written bytes are discarded and commit succeeds.
   */
  commit(sha256: string): Promise<void>;
  /** Discards everything written, whatever state the stream is in. Idempotent. */
  cancel(): Promise<void>;
}

/**
 * What a storage backend implements: plain I/O. `wrapBlobStore` owns digest validation, hashing,
 * limits, abort handling and error mapping, so drivers receive only valid digests and may throw
 * raw I/O errors.
 */
export interface BlobStoreDriver {
  /** Short backend name for logs and error details, e.g. `fs`. */
  readonly name: string;
  createWriter(): Promise<BlobWriter>;
  /**
   * Optional: stores bytes already in memory under their (verified) digest, durably and
   * atomically like a writer's commit, without the stream machinery a small upload does not need.
   */
  putBuffer?(data: Buffer, sha256: string): Promise<void>;
  /** Optional: several putBuffer calls at once, sharing directory syncs. */
  putBuffers?(items: readonly { data: Buffer; sha256: string }[]): Promise<void>;
  /** Opened stream, or null when the blob is absent. */
  get(sha256: string, range?: ByteRange): Promise<Readable | null>;
  stat(sha256: string): Promise<BlobStat | null>;
  /** Must succeed when the blob is absent. */
  delete(sha256: string): Promise<void>;
  /** Yields the digest of every committed blob. */
  list(): AsyncIterable<string>;
  ping(): Promise<void>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True for a lowercase 64-digit hex string, the only blob name a store accepts. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

// Digests come from URLs and uploaded metadata and drivers turn them into paths or keys.
function assertSha256(value: string): void {
  if (!isSha256Hex(value)) throw new StockadeError('BAD_REQUEST', ['invalid sha256 digest']);
}

function assertRange(range: ByteRange | undefined): void {
  if (range === undefined) return;
  const { start, end } = range;
  const valid =
    Number.isSafeInteger(start) && start >= 0 && (end === undefined || (Number.isSafeInteger(end) && end >= start));
  if (!valid) throw new StockadeError('BAD_REQUEST', ['invalid byte range']);
}

function storageError(driver: BlobStoreDriver, cause: unknown): StockadeError {
  if (isStockadeError(cause)) return cause;
  const error = new StockadeError('SERVICE_UNAVAILABLE', ['blob storage'], { driver: driver.name });
  // Non-enumerable like `new Error(msg, { cause })`: kept for logs, never serialized to clients.
  Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true });
  return error;
}

async function mapErrors<T>(driver: BlobStoreDriver, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw storageError(driver, error);
  }
}

/** Adds validation, hashing and error mapping to a driver; every store is built this way. */
export function wrapBlobStore(driver: BlobStoreDriver): BlobStore {
  async function get(sha256: string, range?: ByteRange): Promise<Readable> {
    assertSha256(sha256);
    assertRange(range);
    const stream = await mapErrors(driver, () => driver.get(sha256, range));
    if (stream === null) throw new StockadeError('NOT_FOUND', [`blob ${sha256}`]);
    return stream;
  }

  return {
    put: (source, options = {}) => put(driver, source, options),
    async putMany(data) {
      const digests = data.map(digestsOf);
      if (driver.putBuffers) {
        const items = data.map((bytes, i) => ({ data: bytes, sha256: (digests[i] as BlobDigests).sha256 }));
        await mapErrors(driver, () => (driver.putBuffers as NonNullable<BlobStoreDriver['putBuffers']>)(items));
        return digests;
      }
      return Promise.all(data.map((bytes) => put(driver, bytes, {})));
    },
    get,

    async read(sha256) {
      const chunks: Buffer[] = [];
      const stream = await get(sha256);
      await mapErrors(driver, async () => {
        for await (const chunk of stream) chunks.push(chunk as Buffer);
      });
      return Buffer.concat(chunks);
    },

    async stat(sha256) {
      assertSha256(sha256);
      return mapErrors(driver, () => driver.stat(sha256));
    },

    async delete(sha256) {
      assertSha256(sha256);
      await mapErrors(driver, () => driver.delete(sha256));
    },

    async *list() {
      try {
        for await (const sha256 of driver.list()) {
          // A stray object in the backend must never reach GC as a deletable name.
          if (isSha256Hex(sha256)) yield sha256;
        }
      } catch (error) {
        throw storageError(driver, error);
      }
    },

    async ping() {
      await mapErrors(driver, () => driver.ping());
    },
  };
}

function digestsOf(data: Buffer): BlobDigests {
  return {
    sha256: createHash('sha256').update(data).digest('hex'),
    sha512: createHash('sha512').update(data).digest('hex'),
    sha1: createHash('sha1').update(data).digest('hex'),
    md5: createHash('md5').update(data).digest('hex'),
    size: data.length,
  };
}

async function putBuffer(driver: BlobStoreDriver, write: (data: Buffer, sha256: string) => Promise<void>, data: Buffer, options: PutOptions): Promise<BlobDigests> {
  const digests = digestsOf(data);
  if (options.expectedSha256 !== undefined && digests.sha256 !== options.expectedSha256) {
    throw new StockadeError('INTEGRITY_MISMATCH', ['sha256 of the received bytes does not match']);
  }
  await mapErrors(driver, () => write(data, digests.sha256));
  options.signal?.throwIfAborted();
  return digests;
}

async function put(driver: BlobStoreDriver, source: Readable | Buffer, options: PutOptions): Promise<BlobDigests> {
  const { maxBytes, expectedSha256, signal } = options;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
    throw new RangeError('maxBytes must be a non-negative integer');
  }
  if (expectedSha256 !== undefined) assertSha256(expectedSha256);
  signal?.throwIfAborted();
  if (Buffer.isBuffer(source) && maxBytes !== undefined && source.length > maxBytes) {
    throw new StockadeError('BODY_TOO_LARGE', [String(maxBytes)]);
  }

  if (Buffer.isBuffer(source) && driver.putBuffer) return putBuffer(driver, driver.putBuffer.bind(driver), source, options);
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const hashes = {
    sha256: createHash('sha256'),
    sha512: createHash('sha512'),
    sha1: createHash('sha1'),
    md5: createHash('md5'),
  };
  let size = 0;
  const meter = new Transform({
    // Not in object mode, so Node has already turned every chunk into a Buffer or refused it.
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) {
        callback(new StockadeError('BODY_TOO_LARGE', [String(maxBytes)]));
        return;
      }
      for (const hash of Object.values(hashes)) hash.update(chunk);
      callback(null, chunk);
    },
  });

  const writer = await mapErrors(driver, () => driver.createWriter());
  // pipeline() destroys every stream with the first error, so remember which side failed first:
  // a failing source is the caller's error, a failing sink is a storage error.
  let failedFirst: 'source' | 'store' | undefined;
  const onSourceError = (): void => {
    failedFirst ??= 'source';
  };
  const onStoreError = (): void => {
    failedFirst ??= 'store';
  };
  input.on('error', onSourceError);
  writer.stream.on('error', onStoreError);
  try {
    await pipeline(input, meter, writer.stream, signal ? { signal } : {});
    signal?.throwIfAborted();
    const digests: BlobDigests = {
      sha256: hashes.sha256.digest('hex'),
      sha512: hashes.sha512.digest('hex'),
      sha1: hashes.sha1.digest('hex'),
      md5: hashes.md5.digest('hex'),
      size,
    };
    if (expectedSha256 !== undefined && digests.sha256 !== expectedSha256) {
      throw new StockadeError('INTEGRITY_MISMATCH', ['sha256 of the received bytes does not match']);
    }
    failedFirst = 'store'; // the source is done; any later failure is the store's
    await writer.commit(digests.sha256);
    return digests;
  } catch (error) {
    await writer.cancel().catch(() => {});
    if (isStockadeError(error) || signal?.aborted || failedFirst !== 'store') throw error;
    throw storageError(driver, error);
  } finally {
    input.off('error', onSourceError);
    writer.stream.off('error', onStoreError);
  }
}
