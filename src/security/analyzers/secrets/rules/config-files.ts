import { PRIORITY, type Detector, type Hit, type ScanFile } from '../detector.js';
import { shannonEntropy } from '../entropy.js';
import { isPlaceholder } from '../placeholders.js';
import { redact } from '../redact.js';
import { isEnvSecretName, isWeakDefault } from '../secret-names.js';

// Enough for any real config file; bounds work on generated ones.
const MAX_LINES = 20_000;
const MAX_HITS = 100;

/** Lines of a file with their start offsets. */
function* lines(text: string): Generator<[string, number]> {
  let at = 0;
  for (let n = 0; at <= text.length && n < MAX_LINES; n++) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    yield [text.slice(at, end).replace(/\r$/, ''), at];
    if (nl < 0) return;
    at = nl + 1;
  }
}

/** Removes matching quotes around a config value. */
function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0]) ? v.slice(1, -1) : v;
}

interface LineHitOptions {
  rule: string;
  label: string;
  severity: Hit['severity'];
  confidence: Hit['confidence'];
  key: string;
  value: string;
  line: string;
  lineStart: number;
  details?: Record<string, unknown>;
}

function lineHit(o: LineHitOptions): Hit {
  const at = o.line.lastIndexOf(o.value);
  const start = o.lineStart + Math.max(0, at);
  const hit: Hit = {
    rule: o.rule,
    start,
    end: start + o.value.length,
    secret: o.value,
    severity: o.severity,
    confidence: o.confidence,
    label: o.label,
    evidence: `${o.key}=${redact(o.value, 2)}`,
    shown: 2,
  };
  if (o.details) hit.details = o.details;
  return hit;
}

// .npmrc: `//host/:_authToken=…`, `_auth=` (base64 user:pass) and `_password=` (base64).
// Yarn berry keeps the same in .yarnrc.yml as npmAuthToken / npmAuthIdent.
const NPMRC_LINE = /^\s*(?:\/\/[^\s=]*:)?(_authToken|_auth|_password|npmAuthToken|npmAuthIdent)\s*[=:]\s*(.*)$/;

export const npmrcDetector: Detector = {
  rules: [{ id: 'npmrc-auth', severity: 'critical', confidence: 'high', summary: '_authToken/_auth/_password in .npmrc (npmAuthToken in .yarnrc.yml), env interpolation excluded' }],
  priority: PRIORITY.file,
  accepts: (file) => file.base === '.npmrc' || file.base === 'npmrc' || file.base === '.yarnrc.yml' || file.base === '.yarnrc',
  keywords: ['_auth', '_password', 'npmAuth'],
  detect(file) {
    const hits: Hit[] = [];
    for (const [line, lineStart] of lines(file.text)) {
      if (hits.length >= MAX_HITS) break;
      const m = NPMRC_LINE.exec(line);
      if (!m || line.trimStart().startsWith('#') || line.trimStart().startsWith(';')) continue;
      const key = m[1] ?? '';
      const value = unquote((m[2] ?? '').replace(/\s+[#;].*$/, ''));
      // `${NPM_TOKEN}` is the recommended way to keep the token out of the file.
      if (value.length < 8 || isPlaceholder(value)) continue;
      hits.push(lineHit({ rule: 'npmrc-auth', label: `a registry credential (${key})`, severity: 'critical', confidence: 'high', key, value, line, lineStart }));
    }
    return hits.slice(0, MAX_HITS);
  },
};

export const pypircDetector: Detector = {
  rules: [{ id: 'pypirc-password', severity: 'high', confidence: 'high', summary: 'password in .pypirc' }],
  priority: PRIORITY.file,
  accepts: (file) => file.base === '.pypirc' || file.base === 'pypirc',
  keywords: ['password'],
  detect(file) {
    const hits: Hit[] = [];
    for (const [line, lineStart] of lines(file.text)) {
      if (hits.length >= MAX_HITS) break;
      const m = /^\s*password\s*[=:]\s*(.*)$/i.exec(line);
      const value = unquote(m?.[1] ?? '');
      if (!m || value.length < 6 || isPlaceholder(value) || isWeakDefault(value)) continue;
      hits.push(lineHit({ rule: 'pypirc-password', label: 'an upload password', severity: 'high', confidence: 'high', key: 'password', value, line, lineStart }));
    }
    return hits.slice(0, MAX_HITS);
  },
};

const DOCKER_AUTH = /"(auth|identitytoken)"\s*:\s*"([^"\s]{8,4096})"/g;

export const dockerConfigDetector: Detector = {
  rules: [{ id: 'docker-config-auth', severity: 'high', confidence: 'high', summary: 'docker config.json / .dockercfg with auths and a base64 user:password auth' }],
  priority: PRIORITY.file,
  accepts: (file) =>
    file.base === '.dockercfg' || file.base === '.dockerconfigjson' || (file.base === 'config.json' && (file.path.includes('.docker/') || file.has('"auths"'))),
  keywords: ['"auth"', '"identitytoken"'],
  detect(file) {
    const hits: Hit[] = [];
    DOCKER_AUTH.lastIndex = 0;
    for (let m = DOCKER_AUTH.exec(file.text); m; m = DOCKER_AUTH.exec(file.text)) {
      const [, key = '', value = ''] = m;
      if (isPlaceholder(value)) continue;
      if (key === 'auth') {
        // `auth` is base64("user:password"); anything else is not a registry login.
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const password = decoded.slice(colon + 1);
        if (colon < 1 || password.length < 4 || isPlaceholder(password) || isWeakDefault(password)) continue;
      }
      const start = m.index + m[0].lastIndexOf(value);
      hits.push({
        rule: 'docker-config-auth',
        start,
        end: start + value.length,
        secret: value,
        severity: 'high',
        confidence: 'high',
        label: 'a registry login',
        evidence: `"${key}": "${redact(value, 0)}"`,
        shown: 0,
      });
    }
    return hits.slice(0, MAX_HITS);
  },
};

const CREDENTIAL_URL = /^\s*([a-z][a-z0-9+.-]{1,20}):\/\/([^:@\s/]{1,128}):([^@\s]{1,512})@(\S+)\s*$/i;

export const gitCredentialsDetector: Detector = {
  rules: [{ id: 'git-credentials', severity: 'critical', confidence: 'high', summary: 'a .git-credentials store with user:token@host lines' }],
  priority: PRIORITY.bundle,
  accepts: (file) => file.base === '.git-credentials' || file.base === 'git-credentials',
  keywords: ['://'],
  detect(file) {
    const hits: Hit[] = [];
    for (const [line, lineStart] of lines(file.text)) {
      if (hits.length >= MAX_HITS) break;
      const m = CREDENTIAL_URL.exec(line);
      const password = m?.[3] ?? '';
      if (!m || isPlaceholder(password) || isWeakDefault(password)) continue;
      const start = lineStart + line.indexOf(`:${password}@`) + 1;
      hits.push({
        rule: 'git-credentials',
        start,
        end: start + password.length,
        secret: password,
        severity: 'critical',
        confidence: 'high',
        label: 'a stored git credential',
        evidence: `${m[1]}://${redact(m[2] ?? '', 2)}:${redact(password, 0)}@${(m[4] ?? '').slice(0, 80)}`,
        shown: 0,
      });
    }
    return hits.slice(0, MAX_HITS);
  },
};

// Templates meant to be copied; their values are placeholders by convention.
const ENV_TEMPLATE = /\.(?:example|sample|template|tmpl|dist|defaults|schema|skeleton)$/;
const ENV_LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]{0,100})\s*=\s*(.*)$/;

function isDotenv(file: ScanFile): boolean {
  const { base } = file;
  return (base === '.env' || base.startsWith('.env.') || base.endsWith('.env')) && !ENV_TEMPLATE.test(base);
}

export const dotenvDetector: Detector = {
  rules: [{ id: 'dotenv-file', severity: 'high', confidence: 'medium', summary: 'a .env file assigning a value to a secret-looking variable' }],
  priority: PRIORITY.file,
  accepts: isDotenv,
  detect(file) {
    const hits: Hit[] = [];
    for (const [line, lineStart] of lines(file.text)) {
      if (hits.length >= MAX_HITS) break;
      const m = ENV_LINE.exec(line);
      if (!m || !isEnvSecretName(m[1] ?? '')) continue;
      const raw = (m[2] ?? '').trim();
      const value = raw.startsWith('"') || raw.startsWith("'") ? unquote(raw.replace(/(["'])\s+#.*$/, '$1')) : raw.replace(/\s+#.*$/, '');
      if (value.length < 8 || /\s/.test(value) || isPlaceholder(value) || isWeakDefault(value)) continue;
      if (shannonEntropy(value) < 3) continue;
      hits.push(lineHit({ rule: 'dotenv-file', label: `a secret assigned to ${m[1]}`, severity: 'high', confidence: 'medium', key: m[1] ?? '', value, line, lineStart }));
    }
    return hits.slice(0, MAX_HITS);
  },
};

/**
 * Kubernetes Secret manifests: `kind: Secret` with a `data:` (base64) or `stringData:` map whose
 * values are literal. Helm templates fill them with `{{ … }}` and are skipped.
 */
export const kubernetesSecretDetector: Detector = {
  rules: [{ id: 'kubernetes-secret-yaml', severity: 'high', confidence: 'medium', summary: 'Kubernetes Secret manifest with literal data/stringData values' }],
  priority: PRIORITY.file,
  accepts: (file) => /\.ya?ml$/.test(file.base),
  keywords: ['Secret'],
  detect(file) {
    const hits: Hit[] = [];
    for (const doc of yamlDocuments(file.text)) {
      if (!/^kind:\s*["']?Secret["']?\s*$/m.test(doc.text)) continue;
      let section: 'data' | 'stringData' | undefined;
      for (const [line, lineStart] of lines(doc.text)) {
        if (hits.length >= MAX_HITS) break;
        const top = /^(data|stringData):\s*$/.exec(line);
        if (top) {
          section = top[1] as 'data' | 'stringData';
          continue;
        }
        if (!/^\s/.test(line)) section = undefined;
        if (section === undefined) continue;
        const entry = /^\s+([A-Za-z0-9_.-]{1,253}):\s*(\S.*)$/.exec(line);
        if (!entry) continue;
        const value = unquote(entry[2] ?? '');
        const plain = section === 'data' ? Buffer.from(value, 'base64').toString('utf8') : value;
        if (value.length < 4 || value === '|' || value === '>' || isPlaceholder(value) || isPlaceholder(plain) || isWeakDefault(plain)) continue;
        hits.push(
          lineHit({
            rule: 'kubernetes-secret-yaml',
            label: `a Kubernetes Secret value (${entry[1]})`,
            severity: 'high',
            confidence: 'medium',
            key: `${section}.${entry[1]}`,
            value,
            line,
            lineStart: doc.start + lineStart,
          }),
        );
      }
    }
    return hits.slice(0, MAX_HITS);
  },
};

function* yamlDocuments(text: string): Generator<{ text: string; start: number }> {
  let start = 0;
  const separator = /^---[ \t]*(?:#.*)?$/gm;
  for (let m = separator.exec(text); m; m = separator.exec(text)) {
    yield { text: text.slice(start, m.index), start };
    start = m.index + m[0].length;
  }
  yield { text: text.slice(start), start };
}

// Maven settings.xml: <server> entries carry <password>; `${env.X}` reads it from the
// environment and `{…}` is Maven's own encryption (useless without the master password file).
const MAVEN_PASSWORD = /<password>\s*([^<\s]{1,512})\s*<\/password>/g;

export const mavenSettingsDetector: Detector = {
  rules: [{ id: 'maven-settings-password', severity: 'high', confidence: 'high', summary: 'clear-text <password> in a Maven settings.xml' }],
  priority: PRIORITY.file,
  accepts: (file) => file.base === 'settings.xml' || file.base === 'settings-security.xml',
  keywords: ['<password>'],
  detect(file) {
    const hits: Hit[] = [];
    MAVEN_PASSWORD.lastIndex = 0;
    for (let m = MAVEN_PASSWORD.exec(file.text); m && hits.length < MAX_HITS; m = MAVEN_PASSWORD.exec(file.text)) {
      const value = m[1] ?? '';
      if (value.length < 6 || value.startsWith('{') || isPlaceholder(value) || isWeakDefault(value)) continue;
      const start = m.index + m[0].indexOf(value);
      hits.push({ rule: 'maven-settings-password', start, end: start + value.length, secret: value, severity: 'high', confidence: 'high', label: 'a repository password', evidence: `<password>${redact(value, 0)}</password>`, shown: 0 });
    }
    return hits;
  },
};

// NuGet.Config <packageSourceCredentials>: ClearTextPassword is plain; Password is encrypted
// with the machine's key, so it only works where it was made and counts for less.
const NUGET_PASSWORD = /<add\s+key\s*=\s*"(ClearTextPassword|Password)"\s+value\s*=\s*"([^"]{1,2048})"/gi;

export const nugetConfigDetector: Detector = {
  rules: [{ id: 'nuget-config-password', severity: 'high', confidence: 'high', summary: 'ClearTextPassword (high) or encrypted Password (medium) in NuGet.Config' }],
  priority: PRIORITY.file,
  accepts: (file) => file.base === 'nuget.config',
  lowerKeywords: ['password'],
  detect(file) {
    const hits: Hit[] = [];
    NUGET_PASSWORD.lastIndex = 0;
    for (let m = NUGET_PASSWORD.exec(file.text); m && hits.length < MAX_HITS; m = NUGET_PASSWORD.exec(file.text)) {
      const [whole, key = '', value = ''] = m;
      if (value.length < 6 || isPlaceholder(value) || isWeakDefault(value)) continue;
      const clear = key.toLowerCase() === 'cleartextpassword';
      const start = m.index + whole.length - value.length;
      hits.push({
        rule: 'nuget-config-password',
        start,
        end: start + value.length,
        secret: value,
        severity: clear ? 'high' : 'medium',
        confidence: 'high',
        label: clear ? 'a clear-text package source password' : 'an encrypted package source password',
        evidence: `${key}=${redact(value, 0)}`,
        shown: 0,
      });
    }
    return hits;
  },
};

export const configFileDetectors: Detector[] = [
  npmrcDetector,
  pypircDetector,
  dockerConfigDetector,
  gitCredentialsDetector,
  dotenvDetector,
  kubernetesSecretDetector,
  mavenSettingsDetector,
  nugetConfigDetector,
];
