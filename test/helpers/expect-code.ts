import assert from 'node:assert/strict';
import { isStockadeError } from '../../src/errors.js';

/** Asserts that `fn` rejects with a StockadeError of `code` whose message mentions each of `mentions`. */
export async function expectCode(fn: () => Promise<unknown>, code: string, ...mentions: string[]): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(isStockadeError(error), `not a StockadeError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const mention of mentions) assert.ok(error.message.includes(mention), `"${error.message}" should mention ${mention}`);
    return true;
  });
}
