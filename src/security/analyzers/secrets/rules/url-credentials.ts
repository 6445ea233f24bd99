import { PRIORITY, type Detector, type Hit } from '../detector.js';
import { shannonEntropy } from '../entropy.js';
import { hasAscendingRun, hasLongRun, isPlaceholder } from '../placeholders.js';
import { redact } from '../redact.js';
import { isWeakDefault } from '../secret-names.js';

// user:password@host right after `://`. Quotes, braces and `$` end the match, so URLs assembled
// in code (`'://' + user + ':' + pass`, `${user}:${pass}@`) never match.
const USERINFO = /([^\s:@/'"`<>(){}[\],;\\$|]{0,128}):([^\s@/'"`<>(){}[\],;\\$|]{1,256})@([A-Za-z0-9.-]{1,253})(?::[0-9]{1,5})?(?=[/\s'"`?#)>\],;]|$)/y;

// Hosts used in documentation, tests and local setups: a password for them protects nothing
// the package could leak.
const LOCAL_HOST = /^(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|(?:[\w-]+\.)*example(?:\.(?:com|org|net))?|(?:[\w-]+\.)*(?:test|invalid|local|localhost|internal|lan|home|corp))$/i;
// `your-anything`, and `my` before a generic noun (`myhost`, `my-server`, `mydb`): not `mysql.`,
// `myriad.` or any other real host name that merely starts with "my".
const PLACEHOLDER_HOST =
  /(?:^|\.)(?:host|hostname|server|domain|your-?\w*|my-?(?:host|hostname|server|domain|site|app|api|db|database|cluster|company|org|instance|project|proxy|registry|account|bucket|service|name)\d*)(?:\.|$)/i;

// User names that git hosts and CI systems use when the password is really a token.
const TOKEN_USERS = new Set(['x-access-token', 'oauth2', 'x-oauth-basic', 'gitlab-ci-token', 'x-token-auth', 'token', 'git', 'x-bitbucket-api-token-auth', 'pat']);
const MAX_URLS = 2000;

// Words that name the slot a sample value fills (`key_1234`, `pass1`, `token42`): a value made of
// its own role and a number is documentation, not a credential someone chose.
const ROLE_WORD = /^(?:key|apikey|api_key|pass|passwd|pwd|pw|password|secret|token|auth|cred|creds|user|username|usr|login|name)$/i;

/**
 * Sample values of the shape documentation uses for a password: one word plus digits counting
 * from 0 or 1 or one digit repeated (`key_1234`, `abc123`, `demo000`), or the slot's own name
 * plus any number (`pass42`). Chosen and generated passwords are neither: `Summer2024`,
 * `hunter2` and random strings do not match.
 */
export function isSamplePassword(value: string): boolean {
  const m = /^([A-Za-z]{0,16})[-_.]?([0-9]{0,12})$/.exec(value);
  if (m === null) return false;
  const [, word = '', digits = ''] = m;
  if (ROLE_WORD.test(word)) return true;
  if (digits.length < 3) return false;
  return (/^[01]/.test(digits) && hasAscendingRun(digits, digits.length)) || hasLongRun(digits, digits.length);
}

// Prose that introduces an example right before the URL, with at most a few words or other
// quoted examples in between: `format like dotenv://…`, `(e.g. https://…)`, `for example "…", "…"`.
// Code never gets here: `=`, `;`, braces and parentheses end the gap.
const EXAMPLE_CUE =
  /(?:\b(?:e\.g\.|eg:|i\.e\.|for (?:example|instance)|such as|like|examples?:|format:|(?:the )?form of|of the form|syntax:|usage:)|\b(?:e\.g|i\.e)\b)[^;={}()\n]{0,48}$/i;

/**
 * True when the URL is cited as an example in a sentence (an error message explaining the format
 * a setting takes, a comment, documentation) rather than assigned or passed as a value.
 */
export function citedAsExample(text: string, urlStart: number): boolean {
  const lineStart = text.lastIndexOf('\n', urlStart - 1) + 1;
  const before = text.slice(Math.max(lineStart, urlStart - 200), urlStart);
  return EXAMPLE_CUE.test(before) || inDoctest(text, lineStart);
}

// A Python doctest: `>>> ` and `... ` lines are the example's input, the line after them its
// printed output. Both are documentation, whatever they show.
const DOCTEST_LINE = /^[ \t]*(?:>>>|\.\.\.)(?:[ \t]|$)/;

function inDoctest(text: string, lineStart: number): boolean {
  if (DOCTEST_LINE.test(text.slice(lineStart, lineStart + 200))) return true;
  if (lineStart === 0) return false;
  const previousStart = text.lastIndexOf('\n', lineStart - 2) + 1;
  return DOCTEST_LINE.test(text.slice(previousStart, lineStart));
}

export const urlCredentialsDetector: Detector = {
  rules: [
    {
      id: 'url-basic-auth',
      severity: 'high',
      confidence: 'medium',
      summary:
        'user:password@ credentials in a URL (local and example hosts, placeholders and sample values such as key_1234 excluded; medium severity, low confidence when a sentence or a Python doctest cites the URL as an example)',
    },
    { id: 'bitbucket-app-password', severity: 'high', confidence: 'high', summary: 'a password in a bitbucket.org URL (same exclusions and example handling as url-basic-auth)' },
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
      if (/%[sdv]|^:/.test(password) || shannonEntropy(password) < 2.5 || isSamplePassword(password)) continue;
      const bitbucket = host.toLowerCase() === 'bitbucket.org';
      const tokenLike = TOKEN_USERS.has(user.toLowerCase()) || (password.length >= 20 && shannonEntropy(password) >= 3.5);
      // A URL quoted in a sentence as the format to use may still hold a real password, but the
      // sentence says it is an example: worth a warning, never a block.
      const example = citedAsExample(text, schemeStart);
      const start = at + 3 + user.length + 1;
      const what = bitbucket ? 'a Bitbucket app password in' : 'credentials in';
      hits.push({
        rule: bitbucket ? 'bitbucket-app-password' : 'url-basic-auth',
        start,
        end: start + password.length,
        secret: password,
        severity: example ? 'medium' : 'high',
        confidence: example ? 'low' : bitbucket || tokenLike ? 'high' : 'medium',
        label: `${what} ${example ? 'an example URL' : 'a URL'}`,
        evidence: `${scheme.slice(0, 20)}://${redact(user, 2)}:${redact(password, 0)}@${host.slice(0, 80)}`,
        shown: 0,
        details: { scheme: scheme.toLowerCase(), host, ...(example ? { example: true } : {}) },
      });
    }
    return hits;
  },
};
