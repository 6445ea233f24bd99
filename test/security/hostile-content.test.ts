import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { analyzers } from '../../src/security/analyzers/list.js';
import { MAX_FINDINGS_PER_ANALYZER, scanArtifact } from '../../src/security/gate.js';
import { createMemoryAdvisoryLookup } from '../../src/security/advisory-lookup.js';
import { createPopularNames } from '../../src/security/popular.js';
import { createContentView, type ViewEntryInput } from '../../src/security/view.js';
import { contextFor } from './analyzer-harness.js';

/** Every analyzer over one view, with a generous budget: the point is that none fails or hangs. */
async function scanAll(entries: ViewEntryInput[]) {
  const view = createContentView(entries);
  const { checkDeadline: _unused, ...ctx } = contextFor(view);
  ctx.advisories = createMemoryAdvisoryLookup([]);
  ctx.popular = createPopularNames();
  return scanArtifact(view, ctx, { analyzers, timeoutMs: 120_000 });
}

const file = (path: string, body: Buffer | string): ViewEntryInput => {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return { path, type: 'file', size: bytes.length, mode: 0o644, body: bytes };
};
const manifest = (extra: Record<string, unknown> = {}) => file('package.json', JSON.stringify({ name: 'hostile', version: '1.0.0', ...extra }));

function assertNoFailures(report: Awaited<ReturnType<typeof scanAll>>): void {
  assert.deepEqual(report.failures, [], JSON.stringify(report.failures));
  for (const outcome of report.outcomes) assert.ok(outcome.findings.length <= MAX_FINDINGS_PER_ANALYZER + 1, `${outcome.analyzer} reported ${outcome.findings.length} findings`);
}

describe('analyzers on hostile content', () => {
  it('a 12 MiB single-line script', async () => {
    const chunk = 'var _0x1a2b=["\\x68\\x65"],a=function(b){return b+1};eval(atob("YWxlcnQoMSk="));';
    const huge = chunk.repeat(Math.ceil((12 * 1024 * 1024) / chunk.length));
    assertNoFailures(await scanAll([manifest(), file('dist/bundle.js', huge)]));
  });

  it('invalid UTF-8, NUL bytes and random binary data', async () => {
    const invalid = Buffer.concat([Buffer.from('const token = "'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]), Buffer.from('";\n')]);
    assertNoFailures(await scanAll([manifest(), file('index.js', invalid), file('data.bin', randomBytes(1024 * 1024)), file('nul.js', Buffer.from('a\0b\0c'))]));
  });

  it('thousands of files, deeply nested paths and pathological lines', async () => {
    const entries: ViewEntryInput[] = [manifest({ scripts: { postinstall: `${'node x.js && '.repeat(2000)}true` } })];
    for (let i = 0; i < 5000; i++) entries.push(file(`${'d/'.repeat(i % 60)}f${i}.js`, `module.exports=${i};${' '.repeat(i % 400)}require("./f${i + 1}")\n`));
    entries.push(file('lines.js', `${'('.repeat(50_000)}${')'.repeat(50_000)}\n${'"'.repeat(100_000)}\n${'a='.repeat(100_000)}1\n`));
    entries.push(file('secrets.env', 'API_KEY='.concat('x'.repeat(5_000_000))));
    assertNoFailures(await scanAll(entries));
  });

  it('a package whose every line holds a secret is summarized, not stored line by line', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `const k${i} = 'ghp_${randomBytes(27).toString('base64url').slice(0, 36)}';`).join('\n');
    const report = await scanAll([manifest(), file('keys.js', lines)]);
    assertNoFailures(report);
  });
});
