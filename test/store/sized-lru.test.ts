import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SizedLru } from '../../src/store/sized-lru.js';

describe('SizedLru', () => {
  it('drops the least recently used entries beyond the byte budget; get counts as use, peek does not', () => {
    const lru = new SizedLru<string>({ maxBytes: 10 });
    lru.set('a', 'A', 4);
    lru.set('b', 'B', 4);
    assert.equal(lru.get('a'), 'A');
    assert.equal(lru.peek('b'), 'B');
    lru.set('c', 'C', 4);
    assert.equal(lru.has('b'), false, 'b was the least recently used');
    assert.deepEqual([lru.peek('a'), lru.peek('c')], ['A', 'C']);
  });

  it('keeps to the entry cap, refuses an item over the item limit, and replaces a key with its new size', () => {
    const lru = new SizedLru<number>({ maxBytes: 100, maxEntries: 2, maxItemBytes: 50 });
    lru.set('a', 1, 10);
    lru.set('b', 2, 10);
    lru.set('c', 3, 10);
    assert.equal(lru.has('a'), false);
    lru.set('big', 4, 60);
    assert.equal(lru.has('big'), false);
    lru.set('b', 5, 50);
    lru.set('d', 6, 50);
    assert.deepEqual([lru.peek('b'), lru.peek('c'), lru.peek('d')], [5, undefined, 6]);
    lru.delete('b');
    lru.set('e', 7, 50);
    assert.deepEqual([lru.peek('d'), lru.peek('e')], [6, 7]);
  });
});
