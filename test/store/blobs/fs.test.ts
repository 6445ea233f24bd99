import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { BlobStoreDriver } from '../../../src/store/blobs/blob-store.js';
import { wrapBlobStore } from '../../../src/store/blobs/blob-store.js';
import { createFsBlobDriver, createFsBlobStore } from '../../../src/store/blobs/fs.js';
import { createBlobStore } from '../../../src/store/blobs/index.js';
import { blobStoreConformance, digestsOf, failingStream, streamOf } from './conformance.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'stockade-blobs-'));
}

async function tmpEntries(root: string): Promise<string[]> {
  try {
    return await readdir(path.join(root, 'tmp'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

blobStoreConformance('fs', async () => {
  const root = await tempRoot();
  return {
    store: createFsBlobStore({ root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
    leftovers: () => tmpEntries(root),
  };
});

async function withRoot(run: (root: string) => Promise<void>): Promise<void> {
  const root = await tempRoot();
  try {
    await run(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('fs BlobStore', () => {
  it('lays blobs out as sha256/ab/cd/<hex>', () =>
    withRoot(async (root) => {
      const data = Buffer.from('layout');
      const { sha256 } = await createFsBlobStore({ root }).put(data);
      const file = path.join(root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
      assert.deepEqual(await readFile(file), data);
    }));

  it('makes its folders again when they were removed behind its back', () =>
    withRoot(async (root) => {
      const store = createFsBlobStore({ root });
      const first = await store.put(Buffer.from('first'));
      // Everything below the root goes, including the folders the store already knows.
      await rm(path.join(root, 'sha256'), { recursive: true, force: true });
      await rm(path.join(root, 'tmp'), { recursive: true, force: true });
      const again = await store.put(Buffer.from('first'));
      assert.equal(again.sha256, first.sha256);
      const file = path.join(root, 'sha256', first.sha256.slice(0, 2), first.sha256.slice(2, 4), first.sha256);
      assert.deepEqual(await readFile(file), Buffer.from('first'));
    }));

  it('leaves the temp dir empty after successful and failed operations', () =>
    withRoot(async (root) => {
      const store = createFsBlobStore({ root });
      const data = Buffer.from('temp');
      const { sha256 } = await store.put(data);
      await store.put(streamOf(data));
      await Promise.all(Array.from({ length: 5 }, () => store.put(data)));
      await assert.rejects(store.put(data, { maxBytes: 1 }));
      await assert.rejects(store.put(streamOf(data, data), { maxBytes: 5 }));
      await assert.rejects(store.put(data, { expectedSha256: 'b'.repeat(64) }));
      await assert.rejects(store.put(failingStream(data)));
      await store.delete(sha256);
      assert.deepEqual(await tmpEntries(root), []);
    }));

  it('removes the temp file when storing a Buffer fails after writing it', () =>
    withRoot(async (root) => {
      const data = Buffer.from('blocked fan-out');
      const { sha256 } = digestsOf(data);
      // A file where the blob's fan-out folder belongs: the bytes are written, the rename fails.
      await mkdir(path.join(root, 'sha256', sha256.slice(0, 2)), { recursive: true });
      await writeFile(path.join(root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4)), '');
      const store = createFsBlobStore({ root });
      await assert.rejects(store.put(data), { code: 'SERVICE_UNAVAILABLE' });
      assert.deepEqual(await tmpEntries(root), []);
    }));

  it('list skips stray entries in the sha256 tree', () =>
    withRoot(async (root) => {
      const store = createFsBlobStore({ root });
      const { sha256 } = await store.put(Buffer.from('real'));
      const leaf = path.join(root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4));
      const misplaced = digestsOf(Buffer.from('elsewhere')).sha256;
      await writeFile(path.join(leaf, 'notes.txt'), 'x');
      await writeFile(path.join(leaf, misplaced), 'elsewhere');
      await mkdir(path.join(root, 'sha256', 'zz'));
      const listed: string[] = [];
      for await (const digest of store.list()) listed.push(digest);
      assert.deepEqual(listed, [sha256]);
    }));

  it('keeps serving an open stream when the blob is deleted meanwhile', () =>
    withRoot(async (root) => {
      const store = createFsBlobStore({ root });
      const data = Buffer.alloc(256 * 1024, 7);
      const { sha256 } = await store.put(data);
      const stream = await store.get(sha256);
      await store.delete(sha256);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      assert.deepEqual(Buffer.concat(chunks), data);
    }));

  it('reports storage failures as SERVICE_UNAVAILABLE', () =>
    withRoot(async (root) => {
      // A file where the store's root should be: every I/O fails with ENOTDIR.
      const notADir = path.join(root, 'file');
      await writeFile(notADir, '');
      const store = createFsBlobStore({ root: notADir });
      const unavailable = { code: 'SERVICE_UNAVAILABLE' };
      await assert.rejects(store.ping(), unavailable);
      await assert.rejects(store.put(Buffer.from('x')), unavailable);
      await assert.rejects(store.stat('a'.repeat(64)), unavailable);
    }));

  it('rejects invalid digests in the wrapper, before the driver sees them', () =>
    withRoot(async (root) => {
      const calls: string[] = [];
      const driver = createFsBlobDriver({ root });
      const spy = new Proxy(driver, {
        get(target, key, receiver) {
          const value: unknown = Reflect.get(target, key, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push(String(key));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      }) satisfies BlobStoreDriver;
      const store = wrapBlobStore(spy);
      for (const digest of ['../etc/passwd', 'A'.repeat(64), 'abc', `${'a'.repeat(62)}/.`]) {
        await assert.rejects(store.get(digest), { code: 'BAD_REQUEST' });
        await assert.rejects(store.read(digest), { code: 'BAD_REQUEST' });
        await assert.rejects(store.stat(digest), { code: 'BAD_REQUEST' });
        await assert.rejects(store.delete(digest), { code: 'BAD_REQUEST' });
        await assert.rejects(store.put(Buffer.from('x'), { expectedSha256: digest }), { code: 'BAD_REQUEST' });
      }
      assert.deepEqual(calls, []);
    }));

  it('is what createBlobStore builds for kind fs', () =>
    withRoot(async (root) => {
      const store = createBlobStore({ kind: 'fs', root });
      const { sha256 } = await store.put(Buffer.from('config'));
      assert.deepEqual(await createFsBlobStore({ root }).read(sha256), Buffer.from('config'));
    }));

  it('maps a sink failing mid-stream to SERVICE_UNAVAILABLE and cancels the upload', () =>
    withRoot(async (root) => {
      const driver = createFsBlobDriver({ root });
      let cancelled = 0;
      const store = wrapBlobStore({
        ...driver,
        async createWriter() {
          let written = 0;
          return {
            stream: new Writable({
              write(chunk: Buffer, _encoding, callback) {
                written += chunk.length;
                callback(written > 1000 ? Object.assign(new Error('no space left'), { code: 'ENOSPC' }) : null);
              },
            }),
            commit: () => Promise.reject(new Error('must not commit')),
            cancel: async () => {
              cancelled += 1;
            },
          };
        },
      });
      const source = streamOf(Buffer.alloc(800), Buffer.alloc(800), Buffer.alloc(800));
      await assert.rejects(store.put(source), (error: unknown) => {
        assert.equal((error as { code?: unknown }).code, 'SERVICE_UNAVAILABLE');
        assert.match(String((error as Error).cause), /no space left/);
        return true;
      });
      assert.equal(cancelled, 1);
    }));
});
