import type { Detector, ScanFile } from '../detector.js';
import { createPrefixDetector, createScanDetector, type Verdict } from '../token-detector.js';

// Test-mode Stripe keys move no money; they are still credentials to an account, so reported low.
function stripeMode(token: string): Verdict {
  return token.includes('_test_') ? { severity: 'low', details: { mode: 'test' } } : { details: { mode: 'live' } };
}

export const stripeSecretKeyDetector = createPrefixDetector({
  id: 'stripe-secret-key',
  label: 'a Stripe secret key',
  summary: 'sk_live_ secret key (critical); sk_test_ keys are low',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['sk_live_', 'sk_test_'],
  pattern: /sk_(?:live|test)_[A-Za-z0-9]{24,247}(?![A-Za-z0-9_])/y,
  shown: 10,
  minEntropy: 3.5,
  verify: stripeMode,
});

export const stripeRestrictedKeyDetector = createPrefixDetector({
  id: 'stripe-restricted-key',
  label: 'a Stripe restricted key',
  summary: 'rk_live_ restricted key (high); rk_test_ keys are low',
  severity: 'high',
  confidence: 'high',
  prefixes: ['rk_live_', 'rk_test_'],
  pattern: /rk_(?:live|test)_[A-Za-z0-9]{24,247}(?![A-Za-z0-9_])/y,
  shown: 10,
  minEntropy: 3.5,
  verify: stripeMode,
});

// An API key SID names a key; with its secret it authenticates. Hex after SK is common enough
// elsewhere that the file must mention Twilio.
export const twilioApiKeyDetector = createScanDetector({
  id: 'twilio-api-key',
  label: 'a Twilio API key SID',
  summary: 'SK + 32 hex characters in a file mentioning Twilio',
  severity: 'medium',
  confidence: 'medium',
  lowerKeywords: ['twilio'],
  pattern: /(?<![A-Za-z0-9_])SK[0-9a-fA-F]{32}(?![A-Za-z0-9_])/g,
  fixedPrefix: 2,
  minEntropy: 3,
});

const accountSids = new WeakMap<ScanFile, boolean>();
function hasAccountSid(file: ScanFile): boolean {
  let found = accountSids.get(file);
  if (found === undefined) {
    found = /(?<![A-Za-z0-9])AC[0-9a-f]{32}(?![A-Za-z0-9])/.test(file.text);
    accountSids.set(file, found);
  }
  return found;
}

export const twilioAuthTokenDetector = createScanDetector({
  id: 'twilio-auth-token',
  label: 'a Twilio auth token',
  summary: '32 hex characters assigned to an auth-token or API-secret name in a file mentioning Twilio',
  severity: 'high',
  confidence: 'medium',
  lowerKeywords: ['twilio'],
  pattern: /(?:auth[_-]?token|api[_-]?secret)["'`]?\s{0,5}(?:=>|:=|[:=])\s{0,5}["'`]?(?<secret>[0-9a-f]{32})(?![0-9A-Za-z])/dgi,
  minEntropy: 3,
  // An account SID (AC + 32 hex) next to it makes the pair usable.
  verify: (_token, file) => (hasAccountSid(file) ? { confidence: 'high' } : {}),
});

export const sendgridKeyDetector = createPrefixDetector({
  id: 'sendgrid-api-key',
  label: 'a SendGrid API key',
  summary: 'SG. + 22 characters . 43 characters',
  severity: 'high',
  confidence: 'high',
  prefixes: ['SG.'],
  pattern: /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/y,
  minEntropy: 4,
});

export const mailgunKeyDetector = createScanDetector({
  id: 'mailgun-api-key',
  label: 'a Mailgun API key',
  summary: 'key- + 32 hex, or 32-8-8 hex groups, in a file mentioning Mailgun',
  severity: 'high',
  confidence: 'medium',
  lowerKeywords: ['mailgun'],
  pattern: /(?<![A-Za-z0-9_-])(?:key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})(?![A-Za-z0-9_-])/g,
  shown: 4,
  minEntropy: 3,
  verify: (token) => (token.startsWith('key-') ? { confidence: 'high' } : {}),
});

const SHOPIFY_KINDS: Record<string, string> = {
  shpat_: 'a Shopify admin API access token',
  shpca_: 'a Shopify custom app access token',
  shppa_: 'a Shopify private app access token',
  shpss_: 'a Shopify app shared secret',
};

export const shopifyTokenDetector = createPrefixDetector({
  id: 'shopify-token',
  label: 'a Shopify token',
  summary: 'shpat_, shpca_, shppa_ or shpss_ + 32 hex characters',
  severity: 'high',
  confidence: 'high',
  prefixes: Object.keys(SHOPIFY_KINDS),
  pattern: /shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9_])/y,
  minEntropy: 3,
  verify: (token) => ({ label: SHOPIFY_KINDS[token.slice(0, 6)] ?? 'a Shopify token' }),
});

// Datadog API keys (32 hex) and application keys (40 hex) have no marker: only a Datadog-named
// assignment identifies them.
export const datadogKeyDetector = createScanDetector({
  id: 'datadog-api-key',
  label: 'a Datadog API or application key',
  summary: '32/40 hex characters assigned to a Datadog api/app key name',
  severity: 'high',
  confidence: 'medium',
  lowerKeywords: ['datadog', 'dd_api', 'dd_app', 'dd-api', 'dd-app'],
  pattern: /(?:datadog|dd)[_-]?(?:api|app|application)[_-]?key["'`]?\s{0,5}(?:=>|:=|[:=])\s{0,5}["'`]?(?<secret>[a-f0-9]{40}|[a-f0-9]{32})(?![A-Za-z0-9])/dgi,
  minEntropy: 3,
});

// Legacy Sentry DSNs carried a secret key after the public one: https://<public>:<secret>@host/id.
// A DSN with only the public key is meant to ship in clients and is not reported.
export const sentryDsnDetector = createScanDetector({
  id: 'sentry-dsn-secret',
  label: 'a Sentry DSN with its secret key',
  summary: 'https://<32 hex>:<32 hex>@host/<project> in a file mentioning Sentry',
  severity: 'medium',
  confidence: 'high',
  lowerKeywords: ['sentry'],
  pattern: /https?:\/\/[0-9a-f]{32}:(?<secret>[0-9a-f]{32})@[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?\/(?:[A-Za-z0-9_.-]{1,64}\/)?[0-9]{1,12}/dg,
  minEntropy: 3,
});

export const sentryAuthTokenDetector = createPrefixDetector({
  id: 'sentry-auth-token',
  label: 'a Sentry auth token',
  summary: 'sntryu_ + 64 hex (user) or sntrys_ + base64 payload + _ + 43-character secret (organization)',
  severity: 'high',
  confidence: 'high',
  prefixes: ['sntryu_', 'sntrys_'],
  pattern: /sntry(?:u_[a-f0-9]{64}|s_eyJ[A-Za-z0-9+/=]{20,600}_[A-Za-z0-9+/]{43})(?![A-Za-z0-9_+/=-])/y,
  fixedPrefix: 7,
  minEntropy: 3.5,
});

export const saasDetectors: Detector[] = [
  stripeSecretKeyDetector,
  stripeRestrictedKeyDetector,
  twilioApiKeyDetector,
  twilioAuthTokenDetector,
  sendgridKeyDetector,
  mailgunKeyDetector,
  shopifyTokenDetector,
  datadogKeyDetector,
  sentryDsnDetector,
  sentryAuthTokenDetector,
];
