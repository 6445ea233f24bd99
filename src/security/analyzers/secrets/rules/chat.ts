import type { Detector } from '../detector.js';
import { createPrefixDetector, createScanDetector } from '../token-detector.js';

// Webhook URLs only let their holder post into one channel, so they rank below bot tokens.

export const slackBotTokenDetector = createPrefixDetector({
  id: 'slack-bot-token',
  label: 'a Slack bot token',
  summary: 'xoxb- + team id + bot id + 24 characters',
  severity: 'high',
  confidence: 'high',
  prefixes: ['xoxb-'],
  pattern: /xoxb-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{24,34}(?![A-Za-z0-9_-])/y,
  fixedPrefix: 5,
});

export const slackUserTokenDetector = createPrefixDetector({
  id: 'slack-user-token',
  label: 'a Slack user token',
  summary: 'xoxp- (user) or xoxs- (session) token with three numeric ids and 32 hex characters',
  severity: 'high',
  confidence: 'high',
  prefixes: ['xoxp-', 'xoxs-'],
  pattern: /xox[ps]-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[a-f0-9]{32}(?![A-Za-z0-9_-])/y,
});

export const slackAppTokenDetector = createPrefixDetector({
  id: 'slack-app-token',
  label: 'a Slack app-level token',
  summary: 'xapp-<n>-<app id>-<number>-64 hex characters',
  severity: 'high',
  confidence: 'high',
  prefixes: ['xapp-'],
  pattern: /xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,16}-[a-f0-9]{64}(?![A-Za-z0-9_-])/y,
});

/** Only the last path segment of a webhook URL is secret; the ids before it are not random. */
const lastSegment = (url: string) => url.slice(url.lastIndexOf('/') + 1);

export const slackWebhookDetector = createPrefixDetector({
  id: 'slack-webhook-url',
  label: 'a Slack incoming webhook URL',
  summary: 'hooks.slack.com/services/T…/B…/<secret> or a workflow trigger URL',
  severity: 'medium',
  confidence: 'high',
  prefixes: ['https://hooks.slack.com/'],
  pattern:
    /https:\/\/hooks\.slack\.com\/(?:services\/T[A-Z0-9]{8,12}\/B[A-Z0-9]{8,12}\/[A-Za-z0-9]{23,32}|(?:workflows|triggers)\/T[A-Z0-9]{8,12}\/A[A-Z0-9]{8,12}\/[0-9]{10,22}\/[A-Za-z0-9]{23,32})(?![A-Za-z0-9])/y,
  shown: 24,
  variablePart: lastSegment,
  minEntropy: 3.5,
});

// Bot tokens are base64(user id) . base64(timestamp) . HMAC. The first part must decode to the
// decimal snowflake id of the bot, which sets them apart from other dotted base64 strings.
export const discordBotTokenDetector = createScanDetector({
  id: 'discord-bot-token',
  label: 'a Discord bot token',
  summary: 'base64(bot user id).timestamp.HMAC in a file mentioning Discord; the id part must decode to digits',
  severity: 'high',
  confidence: 'high',
  lowerKeywords: ['discord'],
  pattern: /(?<![A-Za-z0-9_.-])[A-Za-z0-9]{23,28}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_.-])/g,
  minEntropy: 4,
  verify(token) {
    const id = Buffer.from(token.slice(0, token.indexOf('.')), 'base64').toString('latin1');
    return /^[1-9][0-9]{16,19}$/.test(id) ? {} : null;
  },
});

export const discordWebhookDetector = createPrefixDetector({
  id: 'discord-webhook-url',
  label: 'a Discord webhook URL',
  summary: 'discord.com/api/webhooks/<id>/<token>',
  severity: 'medium',
  confidence: 'high',
  prefixes: ['https://discord.com/', 'https://discordapp.com/', 'https://ptb.discord.com/', 'https://canary.discord.com/'],
  pattern: /https:\/\/(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/api\/(?:v[0-9]{1,2}\/)?webhooks\/[0-9]{17,20}\/[A-Za-z0-9_-]{60,72}(?![A-Za-z0-9_-])/y,
  shown: 24,
  variablePart: lastSegment,
  minEntropy: 3.5,
});

// Bot API tokens are <bot id>:<35 characters>; the secret part starts with AA in issued tokens.
export const telegramBotTokenDetector = createScanDetector({
  id: 'telegram-bot-token',
  label: 'a Telegram bot token',
  summary: '<8-10 digit bot id>:AA + 33 URL-safe characters',
  severity: 'high',
  confidence: 'medium',
  keywords: [':AA'],
  pattern: /(?<![A-Za-z0-9_:-])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
  minEntropy: 3.5,
  verify: (_token, file) => (file.hasLower('telegram') ? { confidence: 'high' } : {}),
});

export const teamsWebhookDetector = createScanDetector({
  id: 'teams-webhook-url',
  label: 'a Microsoft Teams incoming webhook URL',
  summary: '<tenant>.webhook.office.com/webhookb2/… or outlook.office.com/webhook/… incoming webhook',
  severity: 'medium',
  confidence: 'high',
  keywords: ['webhook.office.com/', 'office.com/webhook/', 'office365.com/webhook/'],
  pattern:
    /https:\/\/(?:[A-Za-z0-9-]{1,63}\.webhook\.office\.com\/webhookb2|outlook\.office(?:365)?\.com\/webhook)\/[0-9a-f-]{36}@[0-9a-f-]{36}\/IncomingWebhook\/[0-9a-f]{32}\/[0-9a-f-]{36}(?:\/[A-Za-z0-9_-]{20,80})?(?![A-Za-z0-9_-])/g,
  shown: 24,
  variablePart: (url) => /IncomingWebhook\/([0-9a-f]{32})/.exec(url)?.[1] ?? '',
  minEntropy: 3,
});

export const chatDetectors: Detector[] = [
  slackBotTokenDetector,
  slackUserTokenDetector,
  slackAppTokenDetector,
  slackWebhookDetector,
  discordBotTokenDetector,
  discordWebhookDetector,
  telegramBotTokenDetector,
  teamsWebhookDetector,
];
