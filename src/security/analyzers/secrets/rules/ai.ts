import type { Detector } from '../detector.js';
import { createPrefixDetector } from '../token-detector.js';

// `T3BlbkFJ` is base64 for "OpenAI"; user keys embed it between two random halves. Project,
// service-account and admin keys have their own prefixes.
const OPENAI_MARKER = 'T3BlbkFJ';

export const openaiKeyDetector = createPrefixDetector({
  id: 'openai-api-key',
  label: 'an OpenAI API key',
  summary: 'sk-… with the T3BlbkFJ marker, or sk-proj-/sk-svcacct-/sk-admin- keys',
  severity: 'high',
  confidence: 'high',
  prefixes: ['sk-'],
  pattern: /sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![A-Za-z0-9_-])/y,
  minEntropy: 3.8,
  verify: (token) => (token.includes(OPENAI_MARKER) ? {} : { confidence: 'medium' }),
});

export const anthropicKeyDetector = createPrefixDetector({
  id: 'anthropic-api-key',
  label: 'an Anthropic API key',
  summary: 'sk-ant-<kind><nn>- + ~95 URL-safe characters',
  severity: 'high',
  confidence: 'high',
  prefixes: ['sk-ant-'],
  pattern: /sk-ant-[a-z]{3,7}[0-9]{2}-[A-Za-z0-9_-]{80,120}(?![A-Za-z0-9_-])/y,
  fixedPrefix: 14,
  minEntropy: 4,
});

// User access tokens are hf_ + 34 letters. Long identifiers can take that shape, so a random mix
// of cases is required too.
export const huggingfaceTokenDetector = createPrefixDetector({
  id: 'huggingface-token',
  label: 'a Hugging Face access token',
  summary: 'hf_ + 34 random mixed-case letters',
  severity: 'high',
  confidence: 'high',
  prefixes: ['hf_'],
  pattern: /hf_[A-Za-z]{34}(?![A-Za-z0-9_-])/y,
  minEntropy: 4,
  verify(token) {
    const body = token.slice(3);
    const upper = body.replace(/[^A-Z]/g, '').length;
    return upper >= 6 && body.length - upper >= 6 ? {} : null;
  },
});

export const aiDetectors: Detector[] = [openaiKeyDetector, anthropicKeyDetector, huggingfaceTokenDetector];
