import { createHash } from 'node:crypto';
import { PRIORITY, type Detector, type Hit, type ScanFile } from '../detector.js';
import { shannonEntropy } from '../entropy.js';
import { isPlaceholder } from '../placeholders.js';
import { redact } from '../redact.js';
import { createPrefixDetector } from '../token-detector.js';
import { findPemBlocks } from './pem.js';

// AWS access key ids: a 4-letter type prefix (AKIA long-term, ASIA temporary STS, ABIA/ACCA
// service-specific) and 16 base32 characters.
const AWS_KEY_ID = /(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])/y;
// Secret access keys are 40 base64 characters with no marker of their own, so they are only
// taken after a key name that says what they are: `aws_secret_access_key`, `secretAccessKey`,
// `AWS_SECRET_KEY`.
const AWS_SECRET = /(aws[_.-]?)?secret[_.-]?(access[_.-]?)?key["'`]?\s{0,5}(?:=>|:=|[:=])\s{0,5}["'`]?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi;

function detectAws(file: ScanFile): Hit[] {
  const { text } = file;
  const ids: Hit[] = [];
  for (const prefix of ['AKIA', 'ASIA', 'ABIA', 'ACCA']) {
    for (let at = text.indexOf(prefix), n = 0; at >= 0 && n < 1000; at = text.indexOf(prefix, at + 4), n++) {
      if (at > 0 && /[A-Za-z0-9]/.test(text[at - 1] ?? '')) continue;
      AWS_KEY_ID.lastIndex = at;
      const m = AWS_KEY_ID.exec(text);
      // AWS documentation's sample id ends in EXAMPLE; all-filler ids are templates.
      if (!m || isPlaceholder(m[0].slice(4))) continue;
      ids.push({
        rule: 'aws-access-key-id',
        start: at,
        end: at + 20,
        secret: m[0],
        severity: 'high',
        confidence: 'high',
        label: 'an AWS access key id',
        evidence: redact(m[0], 6),
        shown: 6,
      });
    }
  }
  const secrets: Hit[] = [];
  AWS_SECRET.lastIndex = 0;
  for (let m = AWS_SECRET.exec(text), n = 0; m && n < 1000; m = AWS_SECRET.exec(text), n++) {
    const [whole, aws, access, value = ''] = m;
    // A bare `secret_key` of 40 base64 characters could be anything; AWS needs saying.
    if (aws === undefined && access === undefined && ids.length === 0) continue;
    if (isPlaceholder(value) || shannonEntropy(value) < 4) continue;
    const start = m.index + whole.length - value.length;
    secrets.push({
      rule: 'aws-secret-access-key',
      start,
      end: start + 40,
      secret: value,
      severity: 'high',
      confidence: 'medium',
      label: 'an AWS secret access key',
      evidence: `${whole.slice(0, whole.length - 40).replace(/\s+/g, ' ')}${redact(value, 0)}`,
      shown: 0,
    });
  }
  // A key id next to its secret is a working credential pair.
  if (ids.length > 0 && secrets.length > 0) {
    for (const hit of [...ids, ...secrets]) {
      hit.severity = 'critical';
      hit.confidence = 'high';
      hit.details = { paired: true };
    }
  }
  return [...ids, ...secrets];
}

export const awsDetector: Detector = {
  rules: [
    { id: 'aws-access-key-id', severity: 'high', confidence: 'high', summary: 'AWS access key id (AKIA/ASIA…); critical next to its secret key' },
    { id: 'aws-secret-access-key', severity: 'high', confidence: 'medium', summary: '40-character AWS secret access key assigned to a secret-key name; critical with a key id' },
  ],
  priority: PRIORITY.provider,
  keywords: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
  lowerKeywords: ['secret_access', 'secretaccess', 'secret-access', 'aws_secret', 'aws-secret', 'awssecret'],
  detect: detectAws,
};

export const gcpApiKeyDetector = createPrefixDetector({
  id: 'gcp-api-key',
  label: 'a Google Cloud API key',
  summary: 'Google API key: AIza + 35 URL-safe base64 characters',
  severity: 'high',
  confidence: 'high',
  prefixes: ['AIza'],
  pattern: /AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/y,
  minEntropy: 3.5,
  // Firebase web configs ship their API key to every browser by design (access is governed by
  // security rules), so such a key is worth a look, not a block.
  verify: (_key, file) => (file.has('authDomain') || file.has('firebaseapp.com') ? { severity: 'medium', details: { firebaseWebConfig: true } } : {}),
});

// A service-account key file: `"type": "service_account"` with an inline PEM private key.
const SA_TYPE = /"type"\s*:\s*"service_account"/;
const SA_KEY = /"private_key"\s*:\s*"/g;

export const gcpServiceAccountDetector: Detector = {
  rules: [{ id: 'gcp-service-account', severity: 'critical', confidence: 'high', summary: 'Google Cloud service-account JSON key with its private key' }],
  priority: PRIORITY.bundle,
  keywords: ['service_account'],
  detect(file) {
    if (!file.has('"private_key"') || !SA_TYPE.test(file.text)) return [];
    const hits: Hit[] = [];
    SA_KEY.lastIndex = 0;
    for (let m = SA_KEY.exec(file.text); m; m = SA_KEY.exec(file.text)) {
      const valueStart = m.index + m[0].length;
      const close = file.text.indexOf('"', valueStart);
      if (close < 0) break;
      const value = file.text.slice(valueStart, close);
      // The PEM inside must be a real key, not `-----BEGIN PRIVATE KEY-----\n...`.
      const [block] = findPemBlocks(value);
      if (!block) continue;
      hits.push({
        rule: 'gcp-service-account',
        start: valueStart,
        end: close,
        secret: block.body,
        severity: 'critical',
        confidence: 'high',
        label: 'a Google Cloud service-account key',
        evidence: `"private_key": "-----BEGIN ${block.kind}-----${'*'.repeat(16)}…"`,
        shown: 0,
        details: { encrypted: block.encrypted },
      });
    }
    return hits;
  },
};

// Local development keys published in Azure's documentation (the storage emulator's account
// key); stored as sha256 so this file does not itself look like a leak.
const PUBLIC_AZURE_KEYS = new Set(['0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059']);

function notPublicAzureKey(secret: string) {
  return PUBLIC_AZURE_KEYS.has(createHash('sha256').update(secret).digest('hex')) ? null : {};
}

// Storage account keys are 64 random bytes: 86 base64 characters and `==`.
export const azureStorageKeyDetector = createPrefixDetector({
  id: 'azure-storage-key',
  label: 'an Azure storage account key',
  summary: 'AccountKey= in an Azure storage connection string (88-character base64 key)',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['AccountKey='],
  pattern: /AccountKey=(?<secret>[A-Za-z0-9+/]{86}==)/dy,
  minEntropy: 4.5,
  verify: notPublicAzureKey,
});

// Service Bus, Event Hubs and IoT Hub connection strings: 32 random bytes, 44 base64 characters.
export const azureSharedAccessKeyDetector = createPrefixDetector({
  id: 'azure-shared-access-key',
  label: 'an Azure shared access key',
  summary: 'SharedAccessKey= in an Azure Service Bus / Event Hubs / IoT Hub connection string',
  severity: 'high',
  confidence: 'high',
  prefixes: ['SharedAccessKey='],
  pattern: /SharedAccessKey=(?<secret>[A-Za-z0-9+/]{43}=)(?![A-Za-z0-9+/=])/dy,
  minEntropy: 4,
  verify: notPublicAzureKey,
});
