import { PRIORITY, type Detector, type Hit } from '../detector.js';
import { shannonEntropy } from '../entropy.js';
import { isPlaceholder } from '../placeholders.js';
import { redact } from '../redact.js';
import { isWeakDefault } from '../secret-names.js';

// user:password@host right after `://`. Quotes, braces and `$` end the match, so URLs assembled
// in code (`'://' + user + ':' + pass`, `${user}:${pass}@`) never match.
const USERINFO = /([^\s:@/'"`<>(){}[\],;\\$|]{0,128}):([^\s@/'"`<>(){}[\],;\\$|]{1,256})@([A-Za-z0-9.-]{1,253})(?::[0-9]{1,5})?(?=[/\s'"`?#)>\],;]|$)/y;

// Hosts used in documentation, tests and local setups: a password for them protects nothing
// the package could leak.
const LOCAL_HOST = /^(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|(?:[\w-]+\.)*example(?:\.(?:com|org|net))?|(?:[\w-]+\.)*(?:test|invalid|local|localhost|internal|lan|home|corp))$/i;
const PLACEHOLDER_HOST = /(?:^|\.)(?:host|hostname|server|domain|yourdomain|mydomain|your-?\w*|my-?\w*)(?:\.|$)/i;

// User names that git hosts and CI systems use when the password is really a token.
const TOKEN_USERS = new Set(['x-access-token', 'oauth2', 'x-oauth-basic', 'gitlab-ci-token', 'x-token-auth', 'token', 'git', 'x-bitbucket-api-token-auth', 'pat']);
const MAX_URLS = 2000;

export const urlCredentialsDetector: Detector = {
  rules: [
    { id: 'url-basic-auth', severity: 'high', confidence: 'medium', summary: 'user:password@ credentials in a URL (local and example hosts, placeholders excluded)' },
    { id: 'bitbucket-app-password', severity: 'high', confidence: 'high', summary: 'a password in a bitbucket.org URL' },
  ],
  priority: PRIORITY.context,
  keywords: ['://'],
  detect(file) {
    if (!file.has('@')) return [];
    const { text } = file;
    const hits: Hit[] = [];
    for (let at = text.indexOf('://'), n = 0; at >= 0 && n < MAX_URLS; at = text.indexOf('://', at + 3), n++) {
      let schemeStart = at;
      while (schemeStart > 0 && at - schemeStart < 20 && /[A-Za-z0-9+.-]/.test(text[schemeStart - 1] ?? '')) schemeStart--;
      const scheme = text.slice(schemeStart, at);
      if (!/^[A-Za-z]/.test(scheme)) continue;
      USERINFO.lastIndex = at + 3;
      const m = USERINFO.exec(text);
      if (!m) continue;
      const [, user = '', password = '', host = ''] = m;
      if (!host.includes('.') || LOCAL_HOST.test(host) || PLACEHOLDER_HOST.test(host)) continue;
      if (password.length < 6 || password === user || isPlaceholder(password) || (user !== '' && !TOKEN_USERS.has(user.toLowerCase()) && isPlaceholder(user)) || isWeakDefault(password)) continue;
      if (/%[sdv]|^:/.test(password) || shannonEntropy(password) < 2.5) continue;
      const bitbucket = host.toLowerCase() === 'bitbucket.org';
      const tokenLike = TOKEN_USERS.has(user.toLowerCase()) || (password.length >= 20 && shannonEntropy(password) >= 3.5);
      const start = at + 3 + user.length + 1;
      hits.push({
        rule: bitbucket ? 'bitbucket-app-password' : 'url-basic-auth',
        start,
        end: start + password.length,
        secret: password,
        severity: 'high',
        confidence: bitbucket || tokenLike ? 'high' : 'medium',
        label: bitbucket ? 'a Bitbucket app password in a URL' : 'credentials in a URL',
        evidence: `${scheme.slice(0, 20)}://${redact(user, 2)}:${redact(password, 0)}@${host.slice(0, 80)}`,
        shown: 0,
        details: { scheme: scheme.toLowerCase(), host },
      });
    }
    return hits;
  },
};
