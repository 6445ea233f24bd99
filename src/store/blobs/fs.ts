import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isSha256Hex, wrapBlobStore, type BlobStat, type BlobStore, type BlobStoreDriver, type BlobWriter } from './blob-store.js';

export interface FsBlobStoreOptions {
  /** Folder holding `sha256/` (the blobs) and `tmp/` (uploads in progress). */
  root: string;
}

/** Blobs on a local filesystem, laid out as `<root>/sha256/ab/cd/<hex>`. */
export function createFsBlobStore(options: FsBlobStoreOptions): BlobStore {
  return wrapBlobStore(createFsBlobDriver(options));
}

const isHex2 = (name: string): boolean => /^[0-9a-f]{2}$/.test(name);

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

// Makes a rename or new entry durable. Best-effort: some filesystems refuse to fsync directories.
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // the data itself was fsynced; only the directory entry may be lost on power failure
  }
}

/** The raw driver; use createFsBlobStore, which validates digests before they become paths. */
export function createFsBlobDriver(options: FsBlobStoreOptions): BlobStoreDriver {
  const root = path.resolve(options.root);
  const blobsDir = path.join(root, 'sha256');
  // Inside root so that rename() never crosses filesystems and stays atomic.
  const tmpDir = path.join(root, 'tmp');

  function blobPath(sha256: string): string {
    // Second line of defence: this string becomes a path.
    if (!isSha256Hex(sha256)) throw new Error('fs blob driver received an invalid digest');
    return path.join(blobsDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  // Directories this process made or found: a put then skips the mkdir (a syscall per upload).
  // Nothing removes them while the server runs; if something did, the ENOENT retry makes it again.
  const knownDirs = new Set<string>();
  async function ensureDir(dir: string): Promise<void> {
    if (knownDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    knownDirs.add(dir);
  }
  async function retryMissingDir<T>(dir: string, action: () => Promise<T>): Promise<T> {
    await ensureDir(dir);
    try {
      return await action();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      knownDirs.delete(dir);
      await ensureDir(dir);
      return action();
    }
  }

  async function createWriter(): Promise<BlobWriter> {
    const tmpPath = path.join(tmpDir, randomUUID());
    const handle = await retryMissingDir(tmpDir, () => open(tmpPath, 'wx', 0o644));
    // flush: fsync before close, and pipeline() resolves only after close, so commit renames durable data.
    const stream = handle.createWriteStream({ flush: true });

    return {
      stream,

      async commit(sha256) {
        const target = blobPath(sha256);
        const dir = path.dirname(target);
        // Atomic, and replacing an identical blob is harmless: concurrent puts of one content all win.
        await retryMissingDir(dir, () => rename(tmpPath, target));
        await syncDir(dir);
      },

      async cancel() {
        if (!stream.closed) {
          // Destroying waits for a write in flight, then closes the handle; only then unlink.
          await new Promise<void>((resolve) => {
            stream.once('close', () => resolve());
            stream.destroy();
          });
        }
        await rm(tmpPath, { force: true });
      },
    };
  }

  /** Writes `data` to a new temp file and makes it durable; returns the temp path. */
  async function writeTemp(data: Buffer): Promise<string> {
    const tmpPath = path.join(tmpDir, randomUUID());
    const handle = await retryMissingDir(tmpDir, () => open(tmpPath, 'wx', 0o644));
    try {
      try {
        let written = 0;
        while (written < data.length) written += (await handle.write(data, written, data.length - written)).bytesWritten;
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      await rm(tmpPath, { force: true });
      throw error;
    }
    return tmpPath;
  }

  /** Renames a durable temp file to its blob name; returns the directory to sync. */
  async function publishTemp(tmpPath: string, sha256: string): Promise<string> {
    const target = blobPath(sha256);
    const dir = path.dirname(target);
    try {
      await retryMissingDir(dir, () => rename(tmpPath, target));
    } catch (error) {
      await rm(tmpPath, { force: true });
      throw error;
    }
    return dir;
  }

  async function putBuffer(data: Buffer, sha256: string): Promise<void> {
    await syncDir(await publishTemp(await writeTemp(data), sha256));
  }

  async function putBuffers(items: readonly { data: Buffer; sha256: string }[]): Promise<void> {
    const dirs = await Promise.all(items.map(async (item) => publishTemp(await writeTemp(item.data), item.sha256)));
    await Promise.all([...new Set(dirs)].map(syncDir));
  }

  async function statFile(file: string): Promise<BlobStat | null> {
    try {
      const stats = await stat(file);
      return { size: stats.size, storedAt: stats.mtime };
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
  }

  async function listDir(dir: string, keep: (name: string) => boolean): Promise<string[]> {
    try {
      return (await readdir(dir)).filter(keep);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
  }

  return {
    name: 'fs',
    createWriter,
    putBuffer,
    putBuffers,

    async get(sha256, range) {
      let handle;
      try {
        // Opening first turns a missing blob into null rather than a late stream error, and a
        // concurrent delete cannot cut the stream short once the file is open.
        handle = await open(blobPath(sha256), 'r');
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return null;
        throw error;
      }
      // Both bounds inclusive, as in ByteRange.
      if (range === undefined) return handle.createReadStream();
      const { start, end } = range;
      return handle.createReadStream(end === undefined ? { start } : { start, end });
    },

    stat: (sha256) => statFile(blobPath(sha256)),

    async delete(sha256) {
      // Empty fan-out directories stay: removing them would race a put's mkdir + rename.
      await rm(blobPath(sha256), { force: true });
    },

    async *list() {
      for (const first of await listDir(blobsDir, isHex2)) {
        for (const second of await listDir(path.join(blobsDir, first), isHex2)) {
          const prefix = first + second;
          for (const name of await listDir(path.join(blobsDir, first, second), isSha256Hex)) {
            if (name.startsWith(prefix)) yield name;
          }
        }
      }
    },

    async ping() {
      await mkdir(tmpDir, { recursive: true });
      await access(tmpDir, constants.R_OK | constants.W_OK);
    },
  };
}
