import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FINDINGS_PER_ANALYZER, scanArtifact, type ScanCache } from '../../src/security/gate.js';
import type { Analyzer, AnalyzerFinding } from '../../src/security/types.js';
import { contextFor, viewOf } from './analyzer-harness.js';

const files = { 'package.json': JSON.stringify({ name: 'demo', version: '1.0.0' }), 'index.js': 'module.exports = 1;\n' };

function analyzer(over: Partial<Analyzer> & Pick<Analyzer, 'id' | 'analyze'>): Analyzer {
  return { version: 1, cacheable: true, appliesTo: () => true, ...over };
}

function memoryCache(): ScanCache & { store: Map<string, AnalyzerFinding[]> } {
  const store = new Map<string, AnalyzerFinding[]>();
  return {
    store,
    getAll: async (sha) =>
      [...store]
        .filter(([key]) => key.startsWith(`${sha}|`))
        .map(([key, findings]) => {
          const [, analyzer, version] = key.split('|');
          return { analyzer: analyzer as string, version: Number(version), findings };
        }),
    putAll: async (sha, results) => {
      for (const r of results) store.set(`${sha}|${r.analyzer}|${r.version}`, r.findings);
    },
  };
}

const base = () => {
  const view = viewOf(files);
  const { checkDeadline: _ignored, ...ctx } = contextFor(view);
  return { view, ctx };
};

describe('scanArtifact', () => {
  it('stamps findings with the analyzer and skips analyzers that do not apply', async () => {
    const { view, ctx } = base();
    const report = await scanArtifact(view, ctx, {
      analyzers: [
        analyzer({ id: 'one', analyze: () => [{ rule: 'one/hit', severity: 'low', confidence: 'high', message: 'hit' }] }),
        analyzer({ id: 'pypi-only', appliesTo: (a) => a.ecosystem === 'PyPI', analyze: () => [{ rule: 'pypi-only/x', severity: 'low', confidence: 'high', message: 'x' }] }),
      ],
    });
    assert.deepEqual(report.findings.map((f) => [f.analyzer, f.rule]), [['one', 'one/hit']]);
    assert.deepEqual(report.outcomes.map((o) => o.analyzer), ['one']);
  });

  it('records a throwing analyzer as failed and keeps going', async () => {
    const { view, ctx } = base();
    const errors: string[] = [];
    const report = await scanArtifact(view, ctx, {
      analyzers: [
        analyzer({ id: 'broken', analyze: () => { throw new Error('boom'); } }),
        analyzer({ id: 'fine', analyze: () => [] }),
      ],
      onError: (id) => errors.push(id),
    });
    assert.deepEqual(report.failures, [{ analyzer: 'broken', reason: 'boom' }]);
    assert.deepEqual(report.outcomes.map((o) => o.status), ['failed', 'ok']);
    assert.deepEqual(errors, ['broken']);
  });

  it('ends a CPU-bound analyzer at its deadline and a waiting one by the timer', async () => {
    const { view, ctx } = base();
    const report = await scanArtifact(view, ctx, {
      timeoutMs: 30,
      analyzers: [
        analyzer({ id: 'spinner', analyze: (_v, c) => { for (;;) c.checkDeadline(); } }),
        analyzer({ id: 'sleeper', analyze: () => new Promise<AnalyzerFinding[]>(() => {}) }),
      ],
    });
    assert.deepEqual(report.outcomes.map((o) => o.status), ['timeout', 'timeout']);
    assert.match(report.failures[0]?.reason ?? '', /took longer than 30 ms/);
  });

  it('rejects findings outside the analyzer namespace as a failure', async () => {
    const { view, ctx } = base();
    const report = await scanArtifact(view, ctx, {
      analyzers: [analyzer({ id: 'sneaky', analyze: () => [{ rule: 'secrets/fake', severity: 'info', confidence: 'low', message: 'x' }] })],
    });
    assert.equal(report.outcomes[0]?.status, 'failed');
  });

  it('serves cacheable results from the cache by sha256, id and version', async () => {
    const { view, ctx } = base();
    const cache = memoryCache();
    let runs = 0;
    const counting = (version: number, cacheable = true) =>
      analyzer({ id: 'count', version, cacheable, analyze: () => { runs++; return [{ rule: 'count/run', severity: 'info', confidence: 'high', message: `run ${runs}` }]; } });
    await scanArtifact(view, ctx, { analyzers: [counting(1)], cache });
    const again = await scanArtifact(view, ctx, { analyzers: [counting(1)], cache });
    assert.equal(runs, 1);
    assert.equal(again.outcomes[0]?.cached, true);
    assert.equal(again.findings[0]?.message, 'run 1');
    await scanArtifact(view, ctx, { analyzers: [counting(2)], cache });
    assert.equal(runs, 2, 'a new analyzer version ignores old results');
    await scanArtifact(view, ctx, { analyzers: [counting(2, false)], cache });
    await scanArtifact(view, ctx, { analyzers: [counting(2, false)], cache });
    assert.equal(runs, 4, 'non-cacheable analyzers always run');
  });

  it('keeps the most severe findings when an analyzer reports too many', async () => {
    const { view, ctx } = base();
    const many: AnalyzerFinding[] = Array.from({ length: MAX_FINDINGS_PER_ANALYZER + 50 }, (_, i) => ({
      rule: 'noisy/hit',
      severity: i === MAX_FINDINGS_PER_ANALYZER + 49 ? 'critical' : 'low',
      confidence: 'high',
      message: `hit ${i}`,
    }));
    const report = await scanArtifact(view, ctx, { analyzers: [analyzer({ id: 'noisy', analyze: () => many })] });
    assert.equal(report.findings.length, MAX_FINDINGS_PER_ANALYZER + 1);
    assert.equal(report.findings[0]?.severity, 'critical');
    assert.equal(report.findings.at(-1)?.rule, 'noisy/more-findings');
  });
});
