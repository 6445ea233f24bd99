import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTyposquatAnalyzer, typosquatAnalyzer } from '../../../src/security/analyzers/typosquat/index.js';
import { classifyEdit } from '../../../src/security/analyzers/typosquat/match.js';
import { skeleton } from '../../../src/security/analyzers/typosquat/confusables.js';
import type { AnalyzerFinding } from '../../../src/security/types.js';
import { analyzeFiles } from '../analyzer-harness.js';

const NPM_LIST = ['lodash', 'react', 'cross-env', 'mysql-import', 'JSONStream', '@babel/core', 'babel-preset-env', '@types/node', 'underscore.string', 'mocha', 'ms', 'ws', 'express', 'through2', 'axios', 'commander'];
const PYPI_LIST = ['requests', 'prompt-toolkit', 'python-dateutil', 'beautifulsoup4', 'numpy', 'python-nmap', 'urllib3'];

async function check(name: string, options: { ecosystem?: 'npm' | 'PyPI'; ownerNames?: string[]; list?: string[] } = {}): Promise<AnalyzerFinding[]> {
  const ecosystem = options.ecosystem ?? 'npm';
  const list = options.list ?? (ecosystem === 'npm' ? NPM_LIST : PYPI_LIST);
  return analyzeFiles(typosquatAnalyzer, { 'package.json': JSON.stringify({ name, version: '1.0.0' }) }, {
    artifact: ecosystem === 'npm' ? { name } : { name, ecosystem: 'PyPI', format: 'pypi', filename: `${name}-1.0.0.tar.gz` },
    popular: { [ecosystem]: list },
    ...(options.ownerNames !== undefined ? { ownerNames: options.ownerNames } : {}),
  });
}

describe('typosquat analyzer', () => {
  it('has the expected identity', () => {
    assert.equal(typosquatAnalyzer.id, 'typosquat');
    assert.equal(typosquatAnalyzer.version, 2);
    assert.equal(typosquatAnalyzer.cacheable, false);
  });

  const positives: { name: string; candidate: string; ecosystem?: 'npm' | 'PyPI'; target: string; technique: string; confidence?: string }[] = [
    { name: 'adjacent transposition', candidate: 'lodahs', target: 'lodash', technique: 'transposition', confidence: 'high' },
    { name: 'transposition in a short name', candidate: 'axois', target: 'axios', technique: 'transposition' },
    { name: 'repeated character', candidate: 'lodashh', target: 'lodash', technique: 'repeated-character', confidence: 'medium' },
    { name: 'omitted character', candidate: 'comander', target: 'commander', technique: 'omitted-character' },
    { name: 'adjacent-key substitution', candidate: 'lpdash', target: 'lodash', technique: 'edit-distance', confidence: 'medium' },
    { name: 'other substitution', candidate: 'lxdash', target: 'lodash', technique: 'edit-distance', confidence: 'low' },
    { name: 'separator dropped', candidate: 'crossenv', target: 'cross-env', technique: 'separator' },
    { name: 'separator changed', candidate: 'cross_env', target: 'cross-env', technique: 'separator' },
    { name: 'words reordered', candidate: 'import-mysql', target: 'mysql-import', technique: 'word-order' },
    { name: 'suffix -js', candidate: 'lodash-js', target: 'lodash', technique: 'affix' },
    { name: 'suffix js without separator', candidate: 'reactjs', target: 'react', technique: 'affix' },
    { name: 'prefix node-', candidate: 'node-express', target: 'express', technique: 'affix' },
    { name: 'affix on top of a typo', candidate: 'axiosjs', target: 'axios', technique: 'affix' },
    { name: 'version number bolted on', candidate: 'underscore.string-2', target: 'underscore.string', technique: 'affix' },
    { name: 'scope made a prefix', candidate: 'babel-core', target: '@babel/core', technique: 'scope-confusion' },
    { name: '@types made a prefix', candidate: 'types-node', target: '@types/node', technique: 'scope-confusion' },
    { name: 'prefix made a scope', candidate: '@cross/env', target: 'cross-env', technique: 'scope-confusion' },
    { name: 'prefix made a new scope next to an established one', candidate: '@babel-preset/env', target: 'babel-preset-env', technique: 'scope-confusion' },
    { name: 'a look-alike of an established scope', candidate: '@babell/core', target: '@babel/core', technique: 'repeated-character' },
    { name: 'a look-alike of @types', candidate: '@typess/node', target: '@types/node', technique: 'repeated-character' },
    { name: 'digit for a letter', candidate: '1odash', target: 'lodash', technique: 'homoglyph', confidence: 'high' },
    { name: 'Cyrillic o', candidate: 'l\u043edash', target: 'lodash', technique: 'homoglyph' },
    { name: 'Greek alpha', candidate: 'ex\u03c1ress', target: 'express', technique: 'homoglyph' },
    { name: 'rn for m', candidate: 'rnocha', target: 'mocha', technique: 'homoglyph' },
    { name: 'legacy upper-case name', candidate: 'jsonstream', target: 'JSONStream', technique: 'case-confusion' },
    { name: 'PyPI omission', candidate: 'requets', ecosystem: 'PyPI', target: 'requests', technique: 'omitted-character' },
    { name: 'PyPI digit homoglyph', candidate: 'r3quests', ecosystem: 'PyPI', target: 'requests', technique: 'homoglyph' },
    { name: 'PyPI separator', candidate: 'prompt-tool-kit', ecosystem: 'PyPI', target: 'prompt-toolkit', technique: 'separator' },
    { name: 'PyPI python- prefix', candidate: 'python-requests', ecosystem: 'PyPI', target: 'requests', technique: 'affix' },
    { name: 'PyPI -py suffix', candidate: 'numpy-py', ecosystem: 'PyPI', target: 'numpy', technique: 'affix' },
    { name: 'PyPI py and python swapped', candidate: 'py-dateutil', ecosystem: 'PyPI', target: 'python-dateutil', technique: 'affix' },
    { name: 'PyPI word order', candidate: 'nmap-python', ecosystem: 'PyPI', target: 'python-nmap', technique: 'word-order' },
    { name: 'PyPI transposition, mixed case', candidate: 'BeautifulSuop4', ecosystem: 'PyPI', target: 'beautifulsoup4', technique: 'transposition' },
  ];
  for (const c of positives) {
    it(`flags ${c.name}: ${c.candidate} → ${c.target}`, async () => {
      const findings = await check(c.candidate, { ecosystem: c.ecosystem ?? 'npm' });
      assert.equal(findings.length, 1, JSON.stringify(findings));
      const f = findings[0] as AnalyzerFinding;
      assert.equal(f.rule, `typosquat/${c.technique}`);
      assert.equal(f.severity, 'medium');
      if (c.confidence !== undefined) assert.equal(f.confidence, c.confidence);
      assert.equal(f.details?.target, c.target);
      assert.equal(f.details?.technique, c.technique);
      assert.equal(typeof f.details?.targetRank, 'number');
      assert.ok(f.message.includes(`"${c.target}"`) && f.message.includes(`"${c.candidate}"`), f.message);
    });
  }

  const negatives: { name: string; candidate: string; ecosystem?: 'npm' | 'PyPI'; ownerNames?: string[]; list?: string[] }[] = [
    { name: 'a popular package itself', candidate: 'lodash' },
    { name: 'a popular package with another popular neighbour', candidate: 'ws' },
    { name: 'a legacy upper-case package itself', candidate: 'JSONStream' },
    { name: 'a PyPI name in another spelling', candidate: 'Prompt_Toolkit', ecosystem: 'PyPI' },
    { name: 'a name the same owner publishes', candidate: 'lodahs', ownerNames: ['lodash'] },
    { name: 'owner names compared normalized', candidate: 'prompt-tool-kit', ecosystem: 'PyPI', ownerNames: ['Prompt_Toolkit'] },
    { name: 'short names by edit distance', candidate: 'qs', list: ['ms', 'ws'] },
    { name: 'four-letter names by substitution', candidate: 'pina', list: ['pino'] },
    { name: 'version digits', candidate: 'through3' },
    { name: 'an unrelated name', candidate: 'left-pad' },
    { name: 'a name that only contains a popular one', candidate: 'express-session' },
    { name: 'a bare name of a scoped package', candidate: 'core' },
    // A scope holding a listed name belongs to that popular publisher: its new names are not squats.
    { name: 'a scoped name whose legacy unscoped form is popular', candidate: '@babel/preset-env' },
    { name: 'a new name in an established scope next to a legacy one', candidate: '@babel/helper-call-delegate', list: ['@babel/core', 'babel-helper-call-delegate'] },
    { name: 'a sibling one edit from another name of its scope', candidate: '@types/nodee' },
    { name: 'a sibling in a scoped family', candidate: '@types/d3-time', list: ['@types/d3-timer'] },
    { name: 'a scoped affix in the same scope', candidate: '@stylistic/eslint-plugin-js', list: ['@stylistic/eslint-plugin'] },
    { name: 'an edit inside a short word of a family name', candidate: 'mypy-boto3-sts', ecosystem: 'PyPI', list: ['mypy-boto3-sqs'] },
  ];
  for (const c of negatives) {
    it(`does not flag ${c.name}: ${c.candidate}`, async () => {
      const findings = await check(c.candidate, { ecosystem: c.ecosystem ?? 'npm', ...(c.ownerNames ? { ownerNames: c.ownerNames } : {}), ...(c.list ? { list: c.list } : {}) });
      assert.deepEqual(findings, []);
    });
  }

  it('yields nothing for an ecosystem without a list', async () => {
    const findings = await analyzeFiles(typosquatAnalyzer, { 'package.json': '{"name":"lodahs"}' }, { artifact: { ecosystem: 'RubyGems', name: 'lodahs' }, popular: {} });
    assert.deepEqual(findings, []);
  });

  it('words the message as one sentence naming the technique', async () => {
    const [f] = await check('lodahs');
    assert.equal(f?.message, 'The name "lodahs" looks like the popular package "lodash" (transposed letters).');
  });

  it('only targets names within the rank cut-off, but exempts every listed name', async () => {
    const analyzer = createTyposquatAnalyzer({ maxTargetRank: 2 });
    const run = (name: string): Promise<AnalyzerFinding[]> => analyzeFiles(analyzer, { 'package.json': JSON.stringify({ name }) }, { popular: { npm: NPM_LIST } });
    assert.equal((await run('lodahs')).length, 1);
    assert.deepEqual(await run('comander'), []);
    assert.deepEqual(await run('commander'), []);
  });

  it('lists other look-alikes in details', async () => {
    const [f] = await check('reqests', { ecosystem: 'PyPI', list: ['requests', 'reqest'] });
    assert.ok(Array.isArray(f?.details?.others));
  });
});

describe('classifyEdit', () => {
  const cases: [string, string, string | undefined][] = [
    ['lodahs', 'lodash', 'transposition'],
    ['lodashh', 'lodash', 'repeated-character'],
    ['lodsh', 'lodash', 'omitted-character'],
    ['lodazh', 'lodash', 'edit-distance'],
    ['lodashx', 'lodash', 'edit-distance'],
    ['crossenv', 'cross-env', 'separator'],
    ['cross.env', 'cross-env', 'separator'],
    ['ldoahs', 'lodash', undefined],
    ['lodash', 'lodash', undefined],
  ];
  for (const [c, t, technique] of cases) {
    it(`${c} vs ${t}: ${technique ?? 'none'}`, () => {
      assert.equal(classifyEdit(c, t)?.technique, technique);
    });
  }
});

describe('skeleton', () => {
  it('folds look-alikes to the Latin letter', () => {
    assert.equal(skeleton('l\u043ed\u0430sh'), 'lodash');
    assert.equal(skeleton('1odash'), 'lodash');
    assert.equal(skeleton('rnocha'), 'mocha');
    assert.equal(skeleton('caf\u00e9'), 'cafe');
  });
});
