/**
 * One positive and at least one negative case per rule. Secrets are generated from seeds by
 * fake-secrets.ts (right shape, random content); documentation placeholders are written out.
 */
import type { Confidence, Severity } from '../../../src/security/types.js';
import type { FileMap } from '../analyzer-harness.js';
import {
  BASE32,
  BASE64,
  BASE64URL,
  HEX,
  LETTERS,
  ageSecretKey,
  checksumToken,
  jwt,
  opensshKey,
  pemBlock,
  pkcs12Bytes,
  randomString as r,
  stockadeToken,
} from './fake-secrets.js';

export interface SecretCase {
  /** Rule name without `secrets/`. */
  rule: string;
  name: string;
  files: FileMap;
  /** Positive cases: the value that must never appear in findings. */
  secret?: string;
  severity?: Severity;
  confidence?: Confidence;
  /** 1-based line of the finding. */
  line?: number;
}

const DIGITS = '0123456789';
const uuid = (seed: string) => {
  const h = r(seed, 32, HEX);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

const awsId = `AKIA${r('aws-id', 16, BASE32)}`;
const awsSecret = r('aws-secret', 40, BASE64);
const gcpKey = `AIza${r('gcp', 35, BASE64URL)}`;
const gcpPem = pemBlock('PRIVATE KEY', 'gcp-sa', 900);
const azureKey = `${r('azure', 86, BASE64)}==`;
const azureSas = `${r('azure-sas', 43, BASE64)}=`;
const ghp = checksumToken('ghp_', 'ghp');
const gho = checksumToken('gho_', 'gho');
const ghu = checksumToken('ghu_', 'ghu');
const ghs = checksumToken('ghs_', 'ghs');
const ghr = checksumToken('ghr_', 'ghr');
const ghpBadChecksum = `ghp_${r('ghp-bad', 36)}`;
const githubPat = `github_pat_${r('gh-fg-1', 22)}_${r('gh-fg-2', 59)}`;
const glpat = `glpat-${r('glpat', 20, BASE64URL.replace(/[-_]/g, 'k'))}`;
const glptt = `glptt-${r('glptt', 40, HEX)}`;
const atbb = `ATBB${r('atbb', 32)}`;
const bbPassword = r('bb-url', 20);
const npmToken = checksumToken('npm_', 'npm');
const pypiToken = `pypi-AgEIcHlwaS5vcmc${r('pypi', 160, BASE64URL)}`;
// A macaroon for another index: version 2, location field naming a placeholder host.
const otherIndexToken = `pypi-${Buffer.concat([Buffer.from([2, 1, 16]), Buffer.from('registry.example'), Buffer.from(r('pypi-other', 120))]).toString('base64url')}`;
const rubygems = `rubygems_${r('rubygems', 48, HEX)}`;
const dockerPat = `dckr_pat_${r('docker', 27, BASE64URL)}`;
const stk = stockadeToken('stockade');
const stkBad = `${stk.slice(0, -1)}${stk.endsWith('0') ? '1' : '0'}`;
const slackBot = `xoxb-${r('sb1', 11, DIGITS)}-${r('sb2', 13, DIGITS)}-${r('sb3', 24)}`;
const slackUser = `xoxp-${r('su1', 11, DIGITS)}-${r('su2', 11, DIGITS)}-${r('su3', 13, DIGITS)}-${r('su4', 32, HEX)}`;
const slackApp = `xapp-1-A${r('sa1', 10, BASE62U())}-${r('sa2', 13, DIGITS)}-${r('sa3', 64, HEX)}`;
const slackHook = `https://hooks.slack.com/services/T${r('sw1', 10, BASE62U())}/B${r('sw2', 10, BASE62U())}/${r('sw3', 24)}`;
const discordId = `1${r('discord-id', 17, DIGITS)}`;
const discordBot = `${Buffer.from(discordId).toString('base64').replace(/=+$/, '')}.${r('db2', 6, BASE64URL)}.${r('db3', 38, BASE64URL)}`;
const discordLookalike = `${r('dl1', 24)}.${r('dl2', 6, BASE64URL)}.${r('dl3', 38, BASE64URL)}`;
const discordHook = `https://discord.com/api/webhooks/${discordId}/${r('dw', 68, BASE64URL)}`;
const telegram = `${r('tg1', 9, '123456789')}:AA${r('tg2', 33, BASE64URL)}`;
const teamsHook = `https://contoso.webhook.office.com/webhookb2/${uuid('t1')}@${uuid('t2')}/IncomingWebhook/${r('t3', 32, HEX)}/${uuid('t4')}`;
const stripeLive = `sk_live_${r('stripe', 99)}`;
const stripeTest = `sk_test_${r('stripe-test', 99)}`;
const stripeRestricted = `rk_live_${r('stripe-rk', 99)}`;
const twilioSk = `SK${r('twilio-sk', 32, HEX)}`;
const twilioToken = r('twilio-token', 32, HEX);
const sendgrid = `SG.${r('sg1', 22, BASE64URL)}.${r('sg2', 43, BASE64URL)}`;
const mailgun = `key-${r('mailgun', 32, HEX)}`;
const shopify = `shpat_${r('shopify', 32, HEX)}`;
const datadog = r('datadog', 32, HEX);
const sentrySecret = r('sentry-secret', 32, HEX);
const sentryPublic = r('sentry-public', 32, HEX);
const sentryUser = `sntryu_${r('sentry-user', 64, HEX)}`;
const openaiLegacy = `sk-${r('oa1', 20)}T3BlbkFJ${r('oa2', 20)}`;
const openaiProject = `sk-proj-${r('oa3', 74, BASE64URL)}T3BlbkFJ${r('oa4', 74, BASE64URL)}`;
const anthropic = `sk-ant-api03-${r('anthropic', 93, BASE64URL)}AA`;
const hf = `hf_${r('hf', 34, LETTERS)}`;
const rsaPem = pemBlock('RSA PRIVATE KEY', 'rsa', 1190);
const encryptedPem = pemBlock('ENCRYPTED PRIVATE KEY', 'enc', 1250);
const sshKey = opensshKey('ssh');
const ppkBody = r('ppk', 256, BASE64);
const age = ageSecretKey('age');
const ageBad = `${age.slice(0, -1)}${age.endsWith('Q') ? 'P' : 'Q'}`;
const token = jwt({ alg: 'HS256', typ: 'JWT' }, { sub: 'svc-7f3a', scope: 'deploy', iat: 1700000000 }, 'jwt');
const k8sValue = Buffer.from(r('k8s', 24)).toString('base64');
const dbPassword = r('db-password', 20);
// Short and mixed like a generated database password: not long enough for the token-like tier.
const urlPassword = r('url-password', 14);
const legacyNpmToken = uuid('npmrc');
const pypircPassword = r('pypirc', 24);
const dockerAuth = Buffer.from(`deploy:${r('docker-auth', 24)}`).toString('base64');
const envSecret = r('dotenv', 32);
const gitCredential = r('git-credential', 40, HEX);
const genericValue = r('generic', 32);
const mavenPassword = r('maven', 20);
const nugetPassword = r('nuget', 20);

const EMULATOR_KEY = ['Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq', '/K1SZFPTOtr/KBHBeksoGMGw=='].join('');

function BASE62U(): string {
  return 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
}

export const positives: SecretCase[] = [
  { rule: 'aws-access-key-id', name: 'key id alone', files: { 'lib/s3.js': `const id = "${awsId}";\n` }, secret: awsId, severity: 'high', confidence: 'high', line: 1 },
  {
    rule: 'aws-secret-access-key',
    name: 'credentials file pair is critical',
    files: { 'config/credentials': `[default]\naws_access_key_id = ${awsId}\naws_secret_access_key = ${awsSecret}\n` },
    secret: awsSecret,
    severity: 'critical',
    confidence: 'high',
    line: 3,
  },
  { rule: 'gcp-api-key', name: 'maps key', files: { 'src/maps.js': `export const key = '${gcpKey}';` }, secret: gcpKey, severity: 'high', confidence: 'high' },
  { rule: 'gcp-api-key', name: 'Firebase web config is medium', files: { 'src/fb.js': `initializeApp({ apiKey: '${gcpKey}', authDomain: 'demo.firebaseapp.com' });` }, secret: gcpKey, severity: 'medium' },
  {
    rule: 'gcp-service-account',
    name: 'service account JSON',
    files: {
      'keys/sa.json': JSON.stringify({ type: 'service_account', project_id: 'demo-project', private_key_id: r('sa-id', 40, HEX), private_key: gcpPem, client_email: 'ci@demo-project.iam.gserviceaccount.com' }, null, 2),
    },
    secret: gcpPem.split('\n')[5] ?? '',
    severity: 'critical',
    confidence: 'high',
    line: 5,
  },
  {
    rule: 'azure-storage-key',
    name: 'connection string',
    files: { 'src/blob.js': `const cs = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${azureKey};EndpointSuffix=core.windows.net";` },
    secret: azureKey,
    severity: 'critical',
    confidence: 'high',
  },
  {
    rule: 'azure-shared-access-key',
    name: 'service bus connection string',
    files: { 'src/bus.js': `const cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${azureSas}";` },
    secret: azureSas,
    severity: 'high',
  },
  { rule: 'github-pat', name: 'classic PAT with checksum', files: { 'scripts/release.js': `\n\nconst auth = 'token ${ghp}';` }, secret: ghp, severity: 'critical', confidence: 'high', line: 3 },
  { rule: 'github-pat', name: 'wrong checksum is only a low note', files: { 'scripts/release.js': `GH_TOKEN=${ghpBadChecksum}` }, secret: ghpBadChecksum, severity: 'low', confidence: 'low' },
  { rule: 'github-oauth-token', name: 'oauth token', files: { 'lib/a.js': `x = "${gho}"` }, secret: gho, confidence: 'high' },
  { rule: 'github-app-user-token', name: 'user-to-server token', files: { 'lib/a.js': `x = "${ghu}"` }, secret: ghu, confidence: 'high' },
  { rule: 'github-app-installation-token', name: 'installation token in a URL', files: { 'lib/a.js': `x = "https://x-access-token:${ghs}@github.com/o/r.git"` }, secret: ghs, confidence: 'high' },
  { rule: 'github-refresh-token', name: 'refresh token', files: { 'lib/a.js': `x = "${ghr}"` }, secret: ghr, confidence: 'high' },
  { rule: 'github-fine-grained-pat', name: 'fine-grained PAT', files: { 'lib/a.js': `x = "${githubPat}"` }, secret: githubPat, severity: 'critical', confidence: 'high' },
  { rule: 'gitlab-pat', name: 'glpat', files: { '.gitlab/ci.sh': `curl -H "PRIVATE-TOKEN: ${glpat}" ...` }, secret: glpat, severity: 'critical' },
  { rule: 'gitlab-token', name: 'pipeline trigger token', files: { 'ci.sh': `TRIGGER=${glptt}` }, secret: glptt, severity: 'high' },
  { rule: 'bitbucket-app-password', name: 'ATBB app password', files: { 'deploy.sh': `APP_PASSWORD=${atbb}` }, secret: atbb },
  { rule: 'bitbucket-app-password', name: 'password in a bitbucket.org URL', files: { 'deploy.sh': `git clone https://builder:${bbPassword}@bitbucket.org/team/repo.git` }, secret: bbPassword },
  { rule: 'npm-access-token', name: 'granular token with checksum', files: { 'publish.js': `const token = "${npmToken}";` }, secret: npmToken, severity: 'critical', confidence: 'high' },
  { rule: 'pypi-upload-token', name: 'public index token', files: { 'upload.py': `TOKEN = "${pypiToken}"` }, secret: pypiToken, severity: 'critical', confidence: 'high' },
  { rule: 'pypi-upload-token', name: 'other index token', files: { 'upload.py': `TOKEN = "${otherIndexToken}"` }, secret: otherIndexToken, confidence: 'medium' },
  { rule: 'rubygems-api-key', name: 'rubygems key', files: { '.gem/credentials': `---\n:rubygems_api_key: ${rubygems}\n` }, secret: rubygems, severity: 'critical', line: 2 },
  { rule: 'docker-hub-pat', name: 'docker PAT', files: { 'ci/login.sh': `echo ${dockerPat} | docker login -u bot --password-stdin` }, secret: dockerPat },
  { rule: 'stockade-token', name: 'valid checksum', files: { 'scripts/publish.mjs': `const STOCKADE = '${stk}';` }, secret: stk, severity: 'critical', confidence: 'high' },
  { rule: 'slack-bot-token', name: 'bot token', files: { 'bot.js': `new WebClient('${slackBot}')` }, secret: slackBot, severity: 'high' },
  { rule: 'slack-user-token', name: 'user token', files: { 'bot.js': `token: '${slackUser}'` }, secret: slackUser },
  { rule: 'slack-app-token', name: 'app-level token', files: { 'bot.js': `appToken: '${slackApp}'` }, secret: slackApp },
  { rule: 'slack-webhook-url', name: 'incoming webhook', files: { 'notify.js': `fetch('${slackHook}', {})` }, secret: slackHook.slice(-24), severity: 'medium' },
  { rule: 'discord-bot-token', name: 'bot token (id decodes to digits)', files: { 'bot.js': `// discord bot\nclient.login('${discordBot}');` }, secret: discordBot, line: 2 },
  { rule: 'discord-webhook-url', name: 'webhook', files: { 'notify.js': `const hook = '${discordHook}';` }, secret: discordHook.slice(-68) },
  { rule: 'telegram-bot-token', name: 'bot token with context', files: { 'bot.js': `const bot = new TelegramBot('${telegram}');` }, secret: telegram, confidence: 'high' },
  { rule: 'teams-webhook-url', name: 'incoming webhook', files: { 'notify.ps1': `$hook = "${teamsHook}"` }, secret: teamsHook },
  { rule: 'stripe-secret-key', name: 'live key is critical', files: { 'pay.js': `stripe('${stripeLive}')` }, secret: stripeLive, severity: 'critical' },
  { rule: 'stripe-secret-key', name: 'test key is low', files: { 'pay.js': `stripe('${stripeTest}')` }, secret: stripeTest, severity: 'low' },
  { rule: 'stripe-restricted-key', name: 'live restricted key', files: { 'pay.js': `stripe('${stripeRestricted}')` }, secret: stripeRestricted, severity: 'high' },
  { rule: 'twilio-api-key', name: 'API key SID near twilio', files: { 'sms.js': `const twilio = require('twilio');\nconst key = '${twilioSk}';` }, secret: twilioSk },
  {
    rule: 'twilio-auth-token',
    name: 'auth token with account SID',
    files: { 'sms.js': `// twilio\nconst accountSid = 'AC${r('twilio-ac', 32, HEX)}';\nconst authToken = '${twilioToken}';` },
    secret: twilioToken,
    confidence: 'high',
    line: 3,
  },
  { rule: 'sendgrid-api-key', name: 'sendgrid key', files: { 'mail.js': `sgMail.setApiKey('${sendgrid}');` }, secret: sendgrid },
  { rule: 'mailgun-api-key', name: 'mailgun key', files: { 'mail.js': `mailgun.client({ username: 'api', key: '${mailgun}' });` }, secret: mailgun, confidence: 'high' },
  { rule: 'shopify-token', name: 'admin API token', files: { 'shop.js': `headers: { 'X-Shopify-Access-Token': '${shopify}' }` }, secret: shopify },
  { rule: 'datadog-api-key', name: 'DD_API_KEY', files: { 'datadog.yaml': `DD_API_KEY: "${datadog}"\n` }, secret: datadog },
  {
    rule: 'sentry-dsn-secret',
    name: 'legacy DSN with secret',
    files: { 'app.js': `Sentry.init({ dsn: 'https://${sentryPublic}:${sentrySecret}@o12345.ingest.sentry.io/67890' });` },
    secret: sentrySecret,
  },
  { rule: 'sentry-auth-token', name: 'user auth token', files: { '.sentryclirc': `[auth]\ntoken=${sentryUser}\n` }, secret: sentryUser },
  { rule: 'openai-api-key', name: 'legacy user key', files: { 'ai.py': `openai.api_key = "${openaiLegacy}"` }, secret: openaiLegacy, confidence: 'high' },
  { rule: 'openai-api-key', name: 'project key', files: { 'ai.py': `OPENAI_API_KEY="${openaiProject}"` }, secret: openaiProject, confidence: 'high' },
  { rule: 'anthropic-api-key', name: 'api03 key', files: { 'ai.ts': `new Anthropic({ apiKey: '${anthropic}' })` }, secret: anthropic },
  { rule: 'huggingface-token', name: 'user access token', files: { 'hub.py': `login(token="${hf}")` }, secret: hf },
  { rule: 'private-key', name: 'RSA PEM file', files: { 'certs/server.key': rsaPem }, secret: rsaPem.split('\n')[3] ?? '', severity: 'critical', confidence: 'high', line: 1 },
  { rule: 'private-key', name: 'encrypted PKCS#8 is high', files: { 'certs/server.key': encryptedPem }, secret: encryptedPem.split('\n')[3] ?? '', severity: 'high' },
  { rule: 'private-key', name: 'unprotected OpenSSH key', files: { 'deploy/id_ed25519': sshKey }, secret: sshKey.split('\n')[2] ?? '', severity: 'critical' },
  {
    rule: 'private-key',
    name: 'PEM in a JS string with \\n escapes',
    files: { 'lib/key.js': `module.exports = "${rsaPem.replace(/\n/g, '\\n')}";` },
    secret: rsaPem.split('\n')[3] ?? '',
    severity: 'critical',
  },
  {
    rule: 'putty-private-key',
    name: 'unencrypted ppk',
    files: {
      'keys/deploy.ppk': `PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n${r('ppk-pub', 64, BASE64)}\n${r('ppk-pub2', 20, BASE64)}\nPrivate-Lines: 4\n${ppkBody.slice(0, 64)}\n${ppkBody.slice(64, 128)}\n${ppkBody.slice(128, 192)}\n${ppkBody.slice(192)}\nPrivate-MAC: ${r('ppk-mac', 64, HEX)}\n`,
    },
    secret: ppkBody.slice(0, 64),
    severity: 'critical',
  },
  { rule: 'pkcs12-file', name: 'p12 with DER magic', files: { 'certs/client.p12': pkcs12Bytes('p12') }, severity: 'high', confidence: 'high' },
  { rule: 'pkcs12-file', name: 'magic without the extension', files: { 'certs/client.bin': pkcs12Bytes('p12-bin') }, confidence: 'high' },
  { rule: 'pkcs12-file', name: 'pfx by name only', files: { 'certs/client.pfx': Buffer.concat([Buffer.from([0x41, 0]), Buffer.from(r('pfx', 100))]) }, confidence: 'medium' },
  { rule: 'java-keystore', name: 'JKS magic', files: { 'conf/app.jks': Buffer.concat([Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]), Buffer.from(r('jks', 64))]) }, confidence: 'high' },
  { rule: 'age-secret-key', name: 'bech32 identity', files: { 'keys.txt': `# created: 2024-01-01\n# public key: age1${r('age-pub', 58, 'qpzry9x8gf2tvdw0s3jn54khce6mua7l')}\n${age}\n` }, secret: age, severity: 'critical', confidence: 'high', line: 3 },
  { rule: 'age-secret-key', name: 'wrong checksum is only a low note', files: { 'keys.txt': ageBad }, secret: ageBad, severity: 'low', confidence: 'low' },
  { rule: 'jwt', name: 'signed token', files: { 'client.js': `headers.Authorization = 'Bearer ${token}';` }, secret: token, severity: 'medium', confidence: 'high' },
  {
    rule: 'kubernetes-secret-yaml',
    name: 'Secret with literal data',
    files: { 'deploy/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n  password: ${k8sValue}\n` },
    secret: k8sValue,
    line: 7,
  },
  { rule: 'url-basic-auth', name: 'token user is high confidence', files: { 'ci.sh': `git push https://x-access-token:${dbPassword}@git.acme-corp.net/o/r.git` }, secret: dbPassword, confidence: 'high' },
  { rule: 'url-basic-auth', name: 'redis URL with an empty user', files: { 'config.js': `const url = "redis://:${dbPassword}@cache.acme-corp.net:6379";` }, secret: dbPassword },
  { rule: 'url-basic-auth', name: 'database URL', files: { 'config.js': `const url = "postgres://app_user:${dbPassword}@db.prod.acme-corp.net:5432/app";` }, secret: dbPassword, severity: 'high' },
  {
    rule: 'url-basic-auth',
    name: 'random password in a config file',
    files: { 'config/production.json': `{\n  "database": "mysql://svc_orders:${urlPassword}@mysql.acme-corp.net:3306/orders"\n}\n` },
    secret: urlPassword,
    severity: 'high',
    confidence: 'medium',
    line: 2,
  },
  { rule: 'url-basic-auth', name: 'a chosen word-and-year password', files: { 'src/db.js': 'module.exports = "postgres://app:Summer2024@db.acme-corp.net/app";' }, secret: 'Summer2024', severity: 'high', confidence: 'medium' },
  {
    rule: 'url-basic-auth',
    name: 'an example cue before an assignment does not make it an example',
    files: { 'src/db.js': `// connects like the old client did\nconst looksLike = true; const url = "postgres://app:${urlPassword}@db.acme-corp.net/app";` },
    secret: urlPassword,
    severity: 'high',
    confidence: 'medium',
    line: 2,
  },
  {
    rule: 'url-basic-auth',
    name: 'random password cited as an example only warns',
    files: { 'lib/config.js': `// Set DATABASE_URL to something like postgres://app:${urlPassword}@db.acme-corp.net/app\nmodule.exports = process.env.DATABASE_URL;` },
    secret: urlPassword,
    severity: 'medium',
    confidence: 'low',
  },
  { rule: 'npmrc-auth', name: 'legacy token in .npmrc', files: { '.npmrc': `registry=https://registry.example/\n//registry.example/:_authToken=${legacyNpmToken}\n` }, secret: legacyNpmToken, severity: 'critical', line: 2 },
  {
    rule: 'pypirc-password',
    name: 'password in .pypirc',
    files: { '.pypirc': `[distutils]\nindex-servers = private\n\n[private]\nrepository = https://registry.example/legacy/\nusername = deploy\npassword = ${pypircPassword}\n` },
    secret: pypircPassword,
    line: 7,
  },
  { rule: 'docker-config-auth', name: 'auths entry', files: { '.docker/config.json': JSON.stringify({ auths: { 'registry.example': { auth: dockerAuth } } }, null, 2) }, secret: dockerAuth },
  { rule: 'dotenv-file', name: '.env secret', files: { '.env': `NODE_ENV=production\nAPI_SECRET=${envSecret}\n` }, secret: envSecret, line: 2 },
  { rule: 'git-credentials', name: 'stored credential', files: { '.git-credentials': `https://builder:${gitCredential}@git.acme-corp.net\n` }, secret: gitCredential, severity: 'critical' },
  {
    rule: 'maven-settings-password',
    name: 'server password',
    files: { '.m2/settings.xml': `<settings>\n  <servers>\n    <server>\n      <id>releases</id>\n      <username>deploy</username>\n      <password>${mavenPassword}</password>\n    </server>\n  </servers>\n</settings>\n` },
    secret: mavenPassword,
    line: 6,
  },
  {
    rule: 'nuget-config-password',
    name: 'clear-text password',
    files: { 'NuGet.Config': `<configuration>\n  <packageSourceCredentials>\n    <private>\n      <add key="Username" value="deploy" />\n      <add key="ClearTextPassword" value="${nugetPassword}" />\n    </private>\n  </packageSourceCredentials>\n</configuration>\n` },
    secret: nugetPassword,
    severity: 'high',
    line: 5,
  },
  { rule: 'generic-assignment', name: 'api key literal', files: { 'src/client.js': `const client = create({\n  apiKey: "${genericValue}",\n});` }, secret: genericValue, severity: 'medium', confidence: 'low', line: 2 },
  { rule: 'generic-assignment', name: 'unquoted in YAML', files: { 'config/app.yml': `service:\n  client_secret: ${genericValue}\n` }, secret: genericValue },
];

export const negatives: SecretCase[] = [
  // AWS's documentation sample key pair ends in EXAMPLE / EXAMPLEKEY.
  { rule: 'aws-access-key-id', name: 'documentation sample id', files: { 'README.md': 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE' } },
  { rule: 'aws-secret-access-key', name: 'documentation sample secret', files: { 'README.md': 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } },
  { rule: 'aws-secret-access-key', name: '40 characters without AWS context', files: { 'lib/x.js': `const secretKey = "${r('no-aws', 40, BASE64)}";` } },
  { rule: 'gcp-api-key', name: 'too short', files: { 'a.js': `const k = 'AIza${r('gcp-short', 20)}';` } },
  {
    rule: 'gcp-service-account',
    name: 'shortened key in docs',
    files: { 'docs/sa.json': '{ "type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE...\\n-----END PRIVATE KEY-----\\n" }' },
  },
  // The storage emulator's well-known development key from Azure's documentation (split so
  // that this file itself does not hold a key-shaped literal).
  { rule: 'azure-storage-key', name: 'emulator key', files: { 'a.js': `const cs = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${EMULATOR_KEY};";` } },
  { rule: 'azure-shared-access-key', name: 'template', files: { 'a.js': 'const cs = "Endpoint=sb://ns/;SharedAccessKeyName=x;SharedAccessKey=<your-key>";' } },
  { rule: 'github-pat', name: 'placeholder', files: { 'README.md': 'export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' } },
  { rule: 'github-pat', name: 'glued to an identifier', files: { 'a.js': `const x = "zghp_${r('glued', 36)}";` } },
  { rule: 'github-oauth-token', name: 'too short', files: { 'a.js': `gho_${r('gho-short', 20)}` } },
  { rule: 'github-app-user-token', name: 'placeholder', files: { 'a.js': 'ghu_000000000000000000000000000000000000' } },
  { rule: 'github-app-installation-token', name: 'placeholder', files: { 'a.js': 'ghs_<installation-token>' } },
  { rule: 'github-refresh-token', name: 'sequence', files: { 'a.js': 'ghr_0123456789abcdefghijABCDEFGHIJ012345' } },
  { rule: 'github-fine-grained-pat', name: 'truncated in docs', files: { 'README.md': 'github_pat_11ABCDEFG0...' } },
  { rule: 'gitlab-pat', name: 'placeholder', files: { 'README.md': 'PRIVATE-TOKEN: glpat-xxxxxxxxxxxxxxxxxxxx' } },
  { rule: 'gitlab-token', name: 'dashed words', files: { 'a.js': "const name = 'glft-some-feature-flag-name';" } },
  { rule: 'bitbucket-app-password', name: 'sample password in URL', files: { 'README.md': 'git clone https://user:password@bitbucket.org/team/repo.git' } },
  { rule: 'npm-access-token', name: 'npm_ config variables', files: { 'a.js': 'process.env.npm_config_registry || process.env.npm_package_version' } },
  { rule: 'npm-access-token', name: 'placeholder', files: { 'README.md': '//registry.example/:_authToken=npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' } },
  { rule: 'pypi-upload-token', name: 'truncated in docs', files: { 'README.md': 'password = pypi-AgEIcHlwaS5vcmc...' } },
  { rule: 'rubygems-api-key', name: 'identifier', files: { 'a.rb': 'rubygems_version = "3.4.10"' } },
  { rule: 'docker-hub-pat', name: 'placeholder', files: { 'README.md': 'dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx' } },
  { rule: 'stockade-token', name: 'wrong checksum', files: { 'a.js': `const t = '${stkBad}';` } },
  { rule: 'slack-bot-token', name: 'zeros placeholder', files: { 'README.md': 'SLACK_BOT_TOKEN=xoxb-0000000000-0000000000-xxxxxxxxxxxxxxxxxxxxxxxx' } },
  { rule: 'slack-user-token', name: 'truncated', files: { 'README.md': 'xoxp-1234-5678' } },
  { rule: 'slack-app-token', name: 'truncated', files: { 'README.md': 'xapp-1-A0B1C2-' } },
  { rule: 'slack-webhook-url', name: 'documentation URL', files: { 'README.md': 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX' } },
  { rule: 'discord-bot-token', name: 'dotted base64 whose first part is not an id', files: { 'bot.js': `// discord\nconst x = '${discordLookalike}';` } },
  { rule: 'discord-webhook-url', name: 'template', files: { 'README.md': 'https://discord.com/api/webhooks/{id}/{token}' } },
  { rule: 'telegram-bot-token', name: 'documentation sample', files: { 'README.md': 'const bot = new TelegramBot("123456789:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");' } },
  { rule: 'teams-webhook-url', name: 'zeros', files: { 'README.md': `https://contoso.webhook.office.com/webhookb2/${uuid('n1')}@${uuid('n2')}/IncomingWebhook/${'0'.repeat(32)}/${uuid('n3')}` } },
  { rule: 'stripe-secret-key', name: 'placeholder', files: { 'README.md': "stripe('sk_live_xxxxxxxxxxxxxxxxxxxxxxxx')" } },
  { rule: 'stripe-restricted-key', name: 'too short', files: { 'README.md': 'rk_live_abc' } },
  { rule: 'twilio-api-key', name: 'SK hex without Twilio', files: { 'a.js': `const v = 'SK${r('sk-no-twilio', 32, HEX)}';` } },
  { rule: 'twilio-auth-token', name: 'zeros', files: { 'sms.js': `// twilio\nconst authToken = '${'0'.repeat(32)}';` } },
  { rule: 'sendgrid-api-key', name: 'placeholder', files: { 'README.md': 'SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' } },
  { rule: 'mailgun-api-key', name: 'key- hex without Mailgun', files: { 'a.js': `const k = 'key-${r('mg-none', 32, HEX)}';` } },
  { rule: 'shopify-token', name: 'not hex', files: { 'a.js': `shpat_${r('shp-none', 32, LETTERS.slice(20))}` } },
  { rule: 'datadog-api-key', name: 'template value', files: { 'datadog.yaml': 'DD_API_KEY: "<DATADOG_API_KEY>"' } },
  { rule: 'sentry-dsn-secret', name: 'public DSN only', files: { 'app.js': `Sentry.init({ dsn: 'https://${sentryPublic}@o12345.ingest.sentry.io/67890' });` } },
  { rule: 'sentry-auth-token', name: 'truncated', files: { 'README.md': 'sntryu_abc123' } },
  { rule: 'openai-api-key', name: 'placeholder', files: { 'README.md': 'OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxx' } },
  { rule: 'openai-api-key', name: 'CSS class', files: { 'a.css': '.sk-spinner { color: red }' } },
  { rule: 'anthropic-api-key', name: 'placeholder', files: { 'README.md': 'ANTHROPIC_API_KEY=sk-ant-api03-...' } },
  { rule: 'huggingface-token', name: 'lower-case identifier', files: { 'hub.py': '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 = 1' } },
  { rule: 'private-key', name: 'parser code mentions the header', files: { 'lib/pem.js': "if (text.startsWith('-----BEGIN RSA PRIVATE KEY-----')) return parse(text.slice(31, text.indexOf('-----END RSA PRIVATE KEY-----')));" } },
  { rule: 'private-key', name: 'shortened key in docs', files: { 'README.md': '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n-----END PRIVATE KEY-----' } },
  { rule: 'private-key', name: 'public key', files: { 'certs/pub.pem': pemBlock('PUBLIC KEY', 'pub', 294) } },
  { rule: 'putty-private-key', name: 'header in code', files: { 'lib/ppk.js': "if (line.startsWith('PuTTY-User-Key-File-')) version = line[20];" } },
  { rule: 'pkcs12-file', name: 'random binary', files: { 'assets/logo.bin': Buffer.concat([Buffer.from([0x30, 0x82, 0, 0]), Buffer.alloc(64)]) } },
  { rule: 'java-keystore', name: 'random binary', files: { 'assets/data.bin': Buffer.concat([Buffer.from([0xca, 0xfe, 0xba, 0xbe]), Buffer.alloc(64)]) } },
  { rule: 'age-secret-key', name: 'filler', files: { 'README.md': `AGE-SECRET-KEY-1${'X'.repeat(58)}` } },
  { rule: 'jwt', name: 'jwt.io sample payload', files: { 'README.md': jwt({ alg: 'HS256', typ: 'JWT' }, { sub: '1234567890', name: 'John Doe', iat: 1516239022 }, 'jwt-sample') } },
  { rule: 'jwt', name: 'header without alg', files: { 'a.js': jwt({ typ: 'JWT' }, { sub: 'x' }, 'jwt-noalg') } },
  {
    rule: 'kubernetes-secret-yaml',
    name: 'helm template',
    files: { 'templates/secret.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  password: {{ .Values.password | b64enc | quote }}\n' },
  },
  { rule: 'kubernetes-secret-yaml', name: 'ConfigMap', files: { 'deploy/cm.yaml': `apiVersion: v1\nkind: ConfigMap\ndata:\n  password: ${k8sValue}\n` } },
  { rule: 'url-basic-auth', name: 'tutorial password', files: { 'README.md': 'mongodb+srv://myUser:myPassword123@cluster0.acme-corp.net/db' } },
  { rule: 'url-basic-auth', name: 'local database', files: { 'config.js': 'const url = "postgres://postgres:postgres@localhost:5432/db";' } },
  { rule: 'url-basic-auth', name: 'documentation host', files: { 'README.md': `https://user:${r('doc-pass', 12)}@example.com/path` } },
  {
    rule: 'url-basic-auth',
    name: 'sample key in an error message of bundled library code',
    files: {
      'lib/utilsBundle.js': [
        '    function _instructions(result, vaultKey) {',
        '      let uri;',
        '      try {',
        '        uri = new URL(vaultKey);',
        '      } catch (error) {',
        '        if (error.code === "ERR_INVALID_URL") {',
        '          const err = new Error("INVALID_VAULT_KEY: Wrong format. Must be in valid uri format like vault://:key_1234@vault.acme-corp.net/app/.env.vault?environment=development");',
        '          throw err;',
        '        }',
        '      }',
        '    }',
      ].join('\n'),
    },
  },
  { rule: 'url-basic-auth', name: 'placeholder host names', files: { 'README.md': `mysql://app:${r('ph-host', 14)}@my-db.acme-corp.net/app and redis://:${r('ph-host-2', 14)}@yourcompany.acme-corp.net` } },
  { rule: 'url-basic-auth', name: 'sample key assigned as a default', files: { 'src/defaults.js': 'const DEFAULT_KEY = "vault://:key_1234@vault.acme-corp.net/app";' } },
  { rule: 'url-basic-auth', name: 'word and counting digits', files: { 'README.md': 'Connect with `mongodb://reader:demo1234@cluster0.acme-corp.net/db`.' } },
  { rule: 'url-basic-auth', name: 'slot name and a number', files: { 'deploy.sh': 'lftp ftp://deploy:pwd_98765@files.acme-corp.net/' } },
  { rule: 'url-basic-auth', name: 'repeated digits', files: { 'docs/proxy.md': 'export HTTPS_PROXY=http://proxyuser:proxy0000@proxy.acme-corp.net:3128' } },
  { rule: 'bitbucket-app-password', name: 'sample value in URL', files: { 'README.md': 'git clone https://builder:app_password_1234@bitbucket.org/team/repo.git' } },
  { rule: 'url-basic-auth', name: 'assembled in code', files: { 'a.js': "const u = proto + '://' + user + ':' + pass + '@' + host; const v = `https://${user}:${pass}@${host}`;" } },
  { rule: 'npmrc-auth', name: 'env interpolation', files: { '.npmrc': '//registry.example/:_authToken=${NPM_TOKEN}\n' } },
  { rule: 'npmrc-auth', name: 'not an npmrc', files: { 'docs/npmrc.md': `//registry.example/:_authToken=${legacyNpmToken}` } },
  { rule: 'pypirc-password', name: 'placeholder', files: { '.pypirc': '[pypi]\nusername = __token__\npassword = <your token>\n' } },
  { rule: 'docker-config-auth', name: 'credential helper only', files: { '.docker/config.json': '{ "auths": { "registry.example": {} }, "credsStore": "desktop" }' } },
  { rule: 'dotenv-file', name: 'template file', files: { '.env.example': `API_SECRET=${envSecret}\n` } },
  { rule: 'dotenv-file', name: 'defaults and non-secrets', files: { '.env': 'NODE_ENV=production\nDB_PASSWORD=postgres\nAPI_KEY=\nSECRET_KEY=${SECRET_KEY}\n' } },
  { rule: 'git-credentials', name: 'interpolated', files: { '.git-credentials': 'https://builder:${TOKEN}@git.acme-corp.net\n' } },
  { rule: 'maven-settings-password', name: 'environment and encrypted values', files: { 'settings.xml': '<server><password>${env.DEPLOY_PASSWORD}</password></server>\n<server><password>{COQLCE6DU6GtcS5P=}</password></server>' } },
  { rule: 'nuget-config-password', name: 'environment variable', files: { 'nuget.config': '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />' } },
  {
    rule: 'generic-assignment',
    name: 'ordinary code',
    files: {
      'src/auth.js': [
        "const tokenType = 'Bearer';",
        'const password = process.env.PASSWORD;',
        'if (token === "b4c8e1f09a7d3e6f2a5b") return;',
        "const secretName = 'my-app-secret-2024-prod';",
        "const API_KEY_HEADER = 'X-Api-Key';",
        "const messages = { passwordTooShort: 'errors.password.tooShort2' };",
        "const secret = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';",
        "const accessToken = 'your-access-token-here-1234';",
        "const nextPageToken = 'CAEQARoKCgcIARC0ARgB';",
        "const privateKey = fs.readFileSync('./keys/private-key-2048.pem');",
        "tokenizer = 'Tokenizer2024ForParsingStrings';",
        "const credentials = { user: 'admin', password: 'correct horse battery staple' };",
      ].join('\n'),
    },
  },
  { rule: 'generic-assignment', name: 'test path', files: { 'test/client.test.js': `const apiKey = "${genericValue}";` } },
  { rule: 'generic-assignment', name: 'minified bundle', files: { 'dist/app.min.js': `${'var a=1;'.repeat(700)}var apiKey="${genericValue}";${'var b=2;'.repeat(700)}` } },
];
