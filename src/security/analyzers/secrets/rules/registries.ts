import { stockadeChecksum } from '../checksums.js';
import { createPrefixDetector } from '../token-detector.js';
import { base62ChecksumVerdict } from './source-hosting.js';

// npm access tokens use GitHub's format: npm_ + 30 random base62 + 6-character CRC32.
export const npmTokenDetector = createPrefixDetector({
  id: 'npm-access-token',
  label: 'an npm access token',
  summary: 'npm_ + 36 base62 characters ending in a CRC32 checksum',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['npm_'],
  pattern: /npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/y,
  verify: (token) => base62ChecksumVerdict(token, 4, 'an npm access token'),
});

// The public Python index's API tokens are `pypi-` + a base64url-serialized v2 macaroon. The
// serialization starts with the version byte (2), the location field tag (1) and length (8),
// then the location, the index's host name; those bytes always encode to `AgEIcHlwaS5vcmc`.
// Other indexes (mirrors, the test index) put their own host there, so any `pypi-AgE…` macaroon
// is taken, with less confidence.
const MAIN_INDEX_PREFIX = 'pypi-AgEIcHlwaS5vcmc';

export const pypiTokenDetector = createPrefixDetector({
  id: 'pypi-upload-token',
  label: 'a Python package index API token',
  summary: 'pypi- + base64url macaroon (pypi-AgEIcHlwaS5vcmc… for the public index)',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['pypi-AgE'],
  pattern: /pypi-AgE[A-Za-z0-9_-]{70,1500}(?![A-Za-z0-9_-])/y,
  fixedPrefix: MAIN_INDEX_PREFIX.length,
  shown: MAIN_INDEX_PREFIX.length,
  minEntropy: 4,
  verify: (token) => (token.startsWith(MAIN_INDEX_PREFIX) ? { details: { index: 'public' } } : { confidence: 'medium', details: { index: 'other' } }),
});

export const rubygemsKeyDetector = createPrefixDetector({
  id: 'rubygems-api-key',
  label: 'a RubyGems API key',
  summary: 'rubygems_ + 48 hex characters',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['rubygems_'],
  pattern: /rubygems_[0-9a-f]{48}(?![A-Za-z0-9_])/y,
  minEntropy: 3,
});

export const dockerHubTokenDetector = createPrefixDetector({
  id: 'docker-hub-pat',
  label: 'a Docker Hub access token',
  summary: 'dckr_pat_ (personal) or dckr_oat_ (organization) access token',
  severity: 'high',
  confidence: 'high',
  prefixes: ['dckr_pat_', 'dckr_oat_'],
  pattern: /dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_-])/y,
  minEntropy: 3.5,
});

// Stockade's own tokens (src/domain/tokens.ts): stk_ + 32 base62 characters + the CRC32 of those
// 32 characters in base36, 7 characters. A failed checksum means not a token, so it is dropped.
export const stockadeTokenDetector = createPrefixDetector({
  id: 'stockade-token',
  label: 'a Stockade access token',
  summary: 'stk_ + 32 base62 characters + 7-character base36 CRC32, checksum verified',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['stk_'],
  pattern: /stk_[0-9A-Za-z]{32}[0-9a-z]{7}(?![A-Za-z0-9_])/y,
  verify: (token) => (stockadeChecksum(token.slice(4, 36)) === token.slice(36) ? { details: { checksum: 'valid' } } : null),
});
