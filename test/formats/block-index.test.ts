import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { BLOCK_SIZE, BlockDocument, changedBlocks, type BlockSignature } from '../../src/formats/block-index.js';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('block documents', () => {
  it('stay equal to a full rebuild through random adds, edits and removals', () => {
    const next = random(7);
    const head = Buffer.from('<head>\n');
    const tail = Buffer.from('</tail>\n');
    const live = new BlockDocument(head, tail);
    const blocks = new Map<number, Buffer>();
    for (let step = 0; step < 400; step++) {
      const block = Math.floor(next() * 40);
      const text = next() < 0.2 ? Buffer.alloc(0) : Buffer.from(`block ${block} step ${step} ${'x'.repeat(Math.floor(next() * 300))}\n`);
      live.setBlock(block, text);
      if (text.length === 0) blocks.delete(block);
      else blocks.set(block, text);

      const expected = Buffer.concat([head, ...[...blocks.keys()].sort((a, b) => a - b).map((b) => blocks.get(b) as Buffer), tail]);
      const snapshot = live.snapshot();
      assert.deepEqual(snapshot.plain(), expected);
      assert.equal(snapshot.plainDigests.sha256, sha256(expected));
      assert.equal(snapshot.plainDigests.md5, md5(expected));
      assert.equal(snapshot.plainDigests.size, expected.length);
      // Several gzip members read back as one stream.
      assert.deepEqual(gunzipSync(snapshot.gzip), expected);
      assert.equal(snapshot.gzipDigests.sha256, sha256(snapshot.gzip));
      assert.equal(snapshot.gzipDigests.size, snapshot.gzip.length);
    }
  });

  it('give the same bytes whatever order the blocks arrived in', () => {
    const texts = Array.from({ length: 30 }, (_, i) => Buffer.from(`Package: p${i}\nVersion: 1.${i}\n\n`));
    const forward = new BlockDocument();
    const backward = new BlockDocument();
    texts.forEach((text, i) => forward.setBlock(i, text));
    [...texts.keys()].reverse().forEach((i) => backward.setBlock(i, texts[i] as Buffer));
    // A detour through other content must not leave a trace either.
    backward.setBlock(3, Buffer.from('something else\n'));
    backward.setBlock(3, texts[3] as Buffer);
    assert.deepEqual(forward.snapshot().gzip, backward.snapshot().gzip);
    assert.deepEqual(forward.snapshot().plainDigests, backward.snapshot().plainDigests);
  });

  it('is a valid gzip file for the gzip tool and when empty', () => {
    const empty = new BlockDocument().snapshot();
    assert.equal(gunzipSync(empty.gzip).length, 0);
    assert.equal(empty.plainDigests.sha256, sha256(Buffer.alloc(0)));
    const document = new BlockDocument();
    for (let i = 0; i < 5; i++) document.setBlock(i, Buffer.from(`line ${i}\n`));
    const gzip = spawnSync('gzip', ['-dc'], { input: document.snapshot().gzip });
    assert.equal(gzip.status, 0, String(gzip.stderr));
    assert.equal(gzip.stdout.toString(), 'line 0\nline 1\nline 2\nline 3\nline 4\n');
  });
});

describe('changed blocks', () => {
  const signature = (block: number, count: number, sum: number): BlockSignature => ({ block, count, sum, sumSquares: sum * sum, newest: '2026-01-01' });
  it('names added, changed and emptied blocks only', () => {
    const known = new Map([
      [0, signature(0, 64, 2016)],
      [1, signature(1, 3, 200)],
      [2, signature(2, 1, 130)],
    ]);
    assert.deepEqual(changedBlocks(known, [signature(0, 64, 2016), signature(1, 4, 270), signature(3, 1, 200)]), [1, 2, 3]);
    assert.deepEqual(changedBlocks(known, [...known.values()]), []);
    assert.ok(BLOCK_SIZE >= 16);
  });
});
