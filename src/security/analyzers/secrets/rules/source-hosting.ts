import { hasBase62Checksum } from '../checksums.js';
import type { Detector } from '../detector.js';
import { characterClasses } from '../entropy.js';
import { createPrefixDetector, type Verdict } from '../token-detector.js';

/**
 * GitHub and npm tokens end in a CRC32 of their random part. Every issued token passes, so one
 * that fails was typed or made up (documentation samples mostly): kept as a low note rather
 * than dropped, in case the format grows. Longer app tokens have no documented checksum.
 */
export function base62ChecksumVerdict(token: string, prefixLength: number, label: string): Verdict {
  if (token.length !== prefixLength + 36) return { confidence: 'medium', details: { checksum: 'unknown' } };
  return hasBase62Checksum(token, prefixLength)
    ? { confidence: 'high', details: { checksum: 'valid' } }
    : { severity: 'low', confidence: 'low', label: `${label} with a wrong checksum`, details: { checksum: 'invalid' } };
}

interface GithubKind {
  prefix: string;
  id: string;
  label: string;
  /** App tokens may be longer than the classic 36 characters. */
  long?: boolean;
}

const GITHUB_KINDS: readonly GithubKind[] = [
  { prefix: 'ghp_', id: 'github-pat', label: 'a GitHub personal access token (classic)' },
  { prefix: 'gho_', id: 'github-oauth-token', label: 'a GitHub OAuth access token' },
  { prefix: 'ghu_', id: 'github-app-user-token', label: 'a GitHub App user-to-server token', long: true },
  { prefix: 'ghs_', id: 'github-app-installation-token', label: 'a GitHub App server-to-server token', long: true },
  { prefix: 'ghr_', id: 'github-refresh-token', label: 'a GitHub refresh token' },
];

export const githubDetectors: Detector[] = GITHUB_KINDS.map((kind) =>
  createPrefixDetector({
    id: kind.id,
    label: kind.label,
    summary: `${kind.prefix} + 36 base62 characters ending in a CRC32 checksum`,
    severity: 'critical',
    confidence: 'high',
    prefixes: [kind.prefix],
    pattern: new RegExp(`${kind.prefix}[A-Za-z0-9]{36${kind.long ? ',255' : ''}}(?![A-Za-z0-9_])`, 'y'),
    verify: (token) => base62ChecksumVerdict(token, 4, kind.label),
  }),
);

// github_pat_ + 22 characters, `_`, 59 characters.
export const githubFineGrainedDetector = createPrefixDetector({
  id: 'github-fine-grained-pat',
  label: 'a GitHub fine-grained personal access token',
  summary: 'github_pat_ + 82 characters',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['github_pat_'],
  pattern: /github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])/y,
  minEntropy: 4,
});

// GitLab personal, project and group access tokens: glpat- + 20 characters, or the longer
// routable form with dot-separated fields.
export const gitlabPatDetector = createPrefixDetector({
  id: 'gitlab-pat',
  label: 'a GitLab personal access token',
  summary: 'glpat- + 20 or more URL-safe characters',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['glpat-'],
  pattern: /glpat-[A-Za-z0-9_-]{20,300}(?:\.[A-Za-z0-9_-]{2,64}){0,3}(?![A-Za-z0-9_-])/y,
  minEntropy: 3.2,
});

const GITLAB_KINDS: Record<string, string> = {
  'glptt-': 'pipeline trigger token',
  'glrt-': 'runner authentication token',
  'glrtr-': 'runner authentication token',
  GR1348941: 'runner registration token',
  'gldt-': 'deploy token',
  'glcbt-': 'CI/CD job token',
  'glft-': 'feed token',
  'glimt-': 'incoming mail token',
  'glsoat-': 'SCIM OAuth token',
  'gloas-': 'OAuth application secret',
  'glagent-': 'agent token',
  'glffct-': 'feature flags client token',
};
const GITLAB_PREFIXES = Object.keys(GITLAB_KINDS);

export const gitlabTokenDetector = createPrefixDetector({
  id: 'gitlab-token',
  label: 'a GitLab token',
  summary: 'other GitLab tokens: glptt-, glrt-, GR1348941, gldt-, glcbt-, glft-, glimt-, glsoat-, gloas-, glagent-, glffct-',
  severity: 'high',
  confidence: 'high',
  prefixes: GITLAB_PREFIXES,
  pattern: new RegExp(`(?:${GITLAB_PREFIXES.join('|')})[A-Za-z0-9_-]{20,300}(?:\\.[A-Za-z0-9_-]{2,64}){0,3}(?![A-Za-z0-9_-])`, 'y'),
  minEntropy: 3.2,
  verify(token) {
    const prefix = GITLAB_PREFIXES.find((p) => token.startsWith(p)) ?? '';
    // Words joined by dashes (`glft-some-feature-name`) are identifiers, not tokens.
    if (characterClasses(token.slice(prefix.length)) < 2) return null;
    return { label: `a GitLab ${GITLAB_KINDS[prefix] ?? 'token'}`, details: { kind: GITLAB_KINDS[prefix] } };
  },
});

// Bitbucket app passwords issued since 2022 start with ATBB.
export const bitbucketAppPasswordDetector = createPrefixDetector({
  id: 'bitbucket-app-password',
  label: 'a Bitbucket app password',
  summary: 'ATBB-prefixed app password, or a password in a bitbucket.org URL',
  severity: 'high',
  confidence: 'high',
  prefixes: ['ATBB'],
  pattern: /ATBB[A-Za-z0-9_=.-]{28,40}(?![A-Za-z0-9_=.-])/y,
  minEntropy: 3.8,
});
