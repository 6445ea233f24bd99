import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BlobDigests, BlobStore } from '../../../src/store/blobs/blob-store.js';

export interface ConformanceFixture {
  store: BlobStore;
  cleanup: () => Promise<void>;
  /** Temp uploads the backend still holds (fs: files in tmp/); checked to be empty after every case. */
  leftovers?: () => Promise<string[]>;
}

export function digestsOf(data: Buffer): BlobDigests {
  const hex = (algorithm: string): string => createHash(algorithm).update(data).digest('hex');
  return { sha256: hex('sha256'), sha512: hex('sha512'), sha1: hex('sha1'), md5: hex('md5'), size: data.length };
}

/** A stream of `chunks` in separate reads, so puts see more than one chunk. */
export function streamOf(...chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/** Yields `good` and then fails, like a client connection that drops mid-upload. */
export function failingStream(good: Buffer, message = 'connection reset'): Readable {
  return new Readable({
    read() {
      if (good.length > 0) {
        this.push(good);
        good = Buffer.alloc(0);
      } else {
        setImmediate(() => this.destroy(new Error(message)));
      }
    },
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listAll(store: BlobStore): Promise<string[]> {
  const digests: string[] = [];
  for await (const digest of store.list()) digests.push(digest);
  return digests.sort();
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.equal((error as { code?: unknown }).code, code, `expected ${code}, got ${String(error)}`);
    return true;
  };
}

const INVALID_DIGESTS: [string, string][] = [
  ['path traversal', '../etc/passwd'],
  ['uppercase hex', 'A'.repeat(64)],
  ['too short', 'ab'.repeat(31)],
  ['too long', 'a'.repeat(65)],
  ['algorithm prefix', `sha256:${'a'.repeat(64)}`],
  ['traversal padded to length', `../../${'a'.repeat(58)}`],
  ['empty', ''],
];

/** Registers the behaviour every BlobStore must show; `make` is called for a fresh store per case. */
export function blobStoreConformance(name: string, make: () => Promise<ConformanceFixture>): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let fixture: ConformanceFixture;
    let store: BlobStore;

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });

    afterEach(async () => {
      try {
        if (fixture.leftovers) assert.deepEqual(await fixture.leftovers(), [], 'temp uploads left behind');
      } finally {
        await fixture.cleanup();
      }
    });

    async function assertEmpty(): Promise<void> {
      assert.deepEqual(await listAll(store), []);
    }

    describe('put and get', () => {
      it('round-trips a multi-chunk stream', async () => {
        const parts = [randomBytes(1000), randomBytes(70_000), Buffer.from('tail')];
        const data = Buffer.concat(parts);
        const digests = await store.put(streamOf(...parts));
        assert.deepEqual(digests, digestsOf(data));
        assert.deepEqual(await collect(await store.get(digests.sha256)), data);
      });

      it('round-trips a Buffer', async () => {
        const data = Buffer.from('{"name":"left-pad"}');
        const digests = await store.put(data);
        assert.deepEqual(digests, digestsOf(data));
        assert.deepEqual(await store.read(digests.sha256), data);
        assert.equal((await store.stat(digests.sha256))?.size, data.length);
      });

      it('stat says when the content was last stored, and a new put of it renews that', async () => {
        const data = Buffer.from(`renewed ${Math.random()}`);
        const before = Date.now();
        const { sha256 } = await store.put(data);
        const first = await store.stat(sha256);
        assert.ok(first && first.storedAt instanceof Date);
        // Coarse file system clocks: allow a second either way.
        assert.ok(Math.abs(first.storedAt.getTime() - before) < 2000, `storedAt ${first.storedAt.toISOString()}`);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await store.put(data);
        const second = await store.stat(sha256);
        assert.ok(second && second.storedAt.getTime() > first.storedAt.getTime(), 'a second put renews storedAt');
      });

      it('stores an empty blob', async () => {
        const digests = await store.put(Buffer.alloc(0));
        assert.deepEqual(digests, digestsOf(Buffer.alloc(0)));
        assert.deepEqual(await store.read(digests.sha256), Buffer.alloc(0));
      });

      it('accepts a matching expectedSha256', async () => {
        const data = randomBytes(512);
        const digests = await store.put(data, { expectedSha256: digestsOf(data).sha256 });
        assert.equal(digests.sha256, digestsOf(data).sha256);
      });

      it('accepts a body of exactly maxBytes', async () => {
        const data = randomBytes(100);
        assert.equal((await store.put(streamOf(data), { maxBytes: 100 })).size, 100);
      });

      it('treats re-putting existing content as a no-op with the same digests', async () => {
        const data = randomBytes(4096);
        const first = await store.put(data);
        const second = await store.put(streamOf(data));
        assert.deepEqual(second, first);
        assert.deepEqual(await listAll(store), [first.sha256]);
        assert.deepEqual(await store.read(first.sha256), data);
      });

      it('lets concurrent puts of the same content all succeed', async () => {
        const data = randomBytes(256 * 1024);
        const expected = digestsOf(data);
        const results = await Promise.all(Array.from({ length: 10 }, () => store.put(streamOf(data))));
        for (const result of results) assert.deepEqual(result, expected);
        assert.deepEqual(await listAll(store), [expected.sha256]);
        assert.deepEqual(await store.read(expected.sha256), data);
      });

      it('streams a 20 MB body and hashes it correctly', async () => {
        const chunk = randomBytes(1024 * 1024);
        const chunks = Array.from({ length: 20 }, () => chunk);
        const digests = await store.put(streamOf(...chunks));
        assert.deepEqual(digests, digestsOf(Buffer.concat(chunks)));
        assert.equal((await store.stat(digests.sha256))?.size, 20 * 1024 * 1024);
      });
    });

    describe('range reads', () => {
      const data = Buffer.from('0123456789abcdef');
      const cases: [string, { start: number; end?: number }, string][] = [
        ['start only', { start: 10 }, 'abcdef'],
        ['start and end, inclusive', { start: 2, end: 5 }, '2345'],
        ['a single byte', { start: 0, end: 0 }, '0'],
        ['the last byte', { start: 15, end: 15 }, 'f'],
        ['end past the last byte', { start: 14, end: 100 }, 'ef'],
        ['start at the end', { start: 16 }, ''],
      ];
      for (const [label, range, expected] of cases) {
        it(label, async () => {
          const { sha256 } = await store.put(data);
          assert.equal((await collect(await store.get(sha256, range))).toString(), expected);
        });
      }

      it('rejects malformed ranges', async () => {
        const { sha256 } = await store.put(data);
        for (const range of [{ start: -1 }, { start: 5, end: 4 }, { start: 1.5 }, { start: Number.NaN }]) {
          await assert.rejects(store.get(sha256, range), hasCode('BAD_REQUEST'), JSON.stringify(range));
        }
      });
    });

    describe('missing blobs', () => {
      const absent = 'e'.repeat(64);

      it('stat returns null', async () => {
        assert.equal(await store.stat(absent), null);
      });

      it('get and read throw NOT_FOUND', async () => {
        await assert.rejects(store.get(absent), hasCode('NOT_FOUND'));
        await assert.rejects(store.get(absent, { start: 0 }), hasCode('NOT_FOUND'));
        await assert.rejects(store.read(absent), hasCode('NOT_FOUND'));
      });
    });

    describe('delete and list', () => {
      it('deletes idempotently', async () => {
        const { sha256 } = await store.put(Buffer.from('bye'));
        await store.delete(sha256);
        await store.delete(sha256);
        await store.delete('f'.repeat(64));
        assert.equal(await store.stat(sha256), null);
        await assert.rejects(store.get(sha256), hasCode('NOT_FOUND'));
      });

      it('lists exactly the stored digests', async () => {
        await assertEmpty();
        const stored = await Promise.all([1, 2, 3, 4, 5].map((n) => store.put(Buffer.from(`blob ${n}`))));
        await store.delete(stored[2]!.sha256);
        const expected = stored.filter((_, i) => i !== 2).map((d) => d.sha256);
        assert.deepEqual(await listAll(store), expected.sort());
      });

      it('can put content again after deleting it', async () => {
        const data = Buffer.from('again');
        const { sha256 } = await store.put(data);
        await store.delete(sha256);
        await store.put(data);
        assert.deepEqual(await store.read(sha256), data);
      });
    });

    describe('failed puts leave nothing behind', () => {
      it('rejects a stream over maxBytes with BODY_TOO_LARGE', async () => {
        const chunks = [randomBytes(600), randomBytes(600)];
        await assert.rejects(store.put(streamOf(...chunks), { maxBytes: 1000 }), (error: unknown) => {
          hasCode('BODY_TOO_LARGE')(error);
          assert.match(String(error), /1000/);
          return true;
        });
        await assertEmpty();
      });

      it('rejects a Buffer over maxBytes with BODY_TOO_LARGE', async () => {
        await assert.rejects(store.put(randomBytes(11), { maxBytes: 10 }), hasCode('BODY_TOO_LARGE'));
        await assertEmpty();
      });

      it('rejects with the source error when the source fails midway', async () => {
        await assert.rejects(store.put(failingStream(randomBytes(64 * 1024))), /connection reset/);
        await assertEmpty();
      });

      it('rejects an expectedSha256 mismatch with INTEGRITY_MISMATCH', async () => {
        const data = randomBytes(2048);
        await assert.rejects(
          store.put(streamOf(data), { expectedSha256: digestsOf(Buffer.from('other')).sha256 }),
          hasCode('INTEGRITY_MISMATCH'),
        );
        await assertEmpty();
      });

      it('does not disturb an existing blob when a re-put fails', async () => {
        const data = randomBytes(2048);
        const { sha256 } = await store.put(data);
        await assert.rejects(store.put(streamOf(data), { maxBytes: 100 }), hasCode('BODY_TOO_LARGE'));
        await assert.rejects(store.put(data, { expectedSha256: 'a'.repeat(64) }), hasCode('INTEGRITY_MISMATCH'));
        assert.deepEqual(await listAll(store), [sha256]);
        assert.deepEqual(await store.read(sha256), data);
      });

      it('stops when the signal aborts mid-stream', async () => {
        const controller = new AbortController();
        let sent = 0;
        const source = new Readable({
          read() {
            sent += 1;
            if (sent === 3) controller.abort();
            setImmediate(() => this.push(randomBytes(16 * 1024)));
          },
        });
        await assert.rejects(store.put(source, { signal: controller.signal }), { name: 'AbortError' });
        await assertEmpty();
      });

      it('rejects an already aborted signal without reading the source', async () => {
        const controller = new AbortController();
        controller.abort();
        const source = streamOf(Buffer.from('unread'));
        await assert.rejects(store.put(source, { signal: controller.signal }), { name: 'AbortError' });
        assert.equal(source.readableDidRead, false);
        await assertEmpty();
      });
    });

    describe('digest validation', () => {
      for (const [label, digest] of INVALID_DIGESTS) {
        it(`rejects ${label}`, async () => {
          await assert.rejects(store.get(digest), hasCode('BAD_REQUEST'));
          await assert.rejects(store.read(digest), hasCode('BAD_REQUEST'));
          await assert.rejects(store.stat(digest), hasCode('BAD_REQUEST'));
          await assert.rejects(store.delete(digest), hasCode('BAD_REQUEST'));
          await assert.rejects(store.put(Buffer.from('x'), { expectedSha256: digest }), hasCode('BAD_REQUEST'));
        });
      }
    });

    it('answers ping', async () => {
      await store.ping();
    });
  });
}
