import { createRemoteSettings, type UpstreamInput, type UpstreamSettings } from '../domain/remote-settings.js';
import type { RepoInfo } from '../domain/repos.js';
import { createSecretBox } from '../domain/secret-box.js';
import type { Config } from '../config/schema.js';
import type { Domain } from '../domain/index.js';
import { loadServerKey } from '../store/server-key.js';
import { createVirtualRepos, type VirtualSettings } from '../domain/virtual-repos.js';
import type { OptionsSpec, OptionValues } from './command.js';
import { arg, type Command, parseRepoPath, stringOption, UsageError } from './command.js';
import { formatDate, table } from './output.js';
import { cliActor, registryUrls, requireRepo, serverBaseUrl, withServices } from './services.js';

function describe(repo: RepoInfo, urls: Record<string, string>): string {
  const lines = [
    `repository   ${repo.path}`,
    `visibility   ${repo.visibility}`,
    `kind         ${repo.kind}`,
    `description  ${repo.description || '-'}`,
    `created      ${formatDate(repo.createdAt)}`,
  ];
  for (const [format, url] of Object.entries(urls)) lines.push(`${`${format} registry`.padEnd(13)}${url}`);
  return lines.join('\n');
}

/** Parses `90`, `500ms`, `30s`, `5m`, `72h`, `3d` into milliseconds (a bare number is in `unit`). */
export function parseDuration(raw: string, option: string, unit: 'ms' | 's' | 'h'): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) throw new UsageError(`--${option} must be a duration such as 30s, 5m, 72h or 3d`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? unit) as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * factor;
}

function wholeNumber(raw: string, option: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${option} must be a whole number`);
  return Number(raw);
}

const UPSTREAM_OPTIONS: OptionsSpec = {
  ttl: { type: 'string' },
  'negative-ttl': { type: 'string' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  concurrency: { type: 'string' },
  cooldown: { type: 'string' },
  'cooldown-allow': { type: 'string' },
  'file-origins': { type: 'string' },
  offline: { type: 'boolean' },
  online: { type: 'boolean' },
  prefetch: { type: 'boolean' },
  'no-prefetch': { type: 'boolean' },
  'token-env': { type: 'string' },
  'no-credentials': { type: 'boolean' },
};

/** Upstream settings from the command line; the token is read from the environment, never argv. */
function upstreamInput(options: OptionValues, env: NodeJS.ProcessEnv): UpstreamInput {
  const input: UpstreamInput = {};
  const text = (name: string) => stringOption(options, name);
  const ttl = text('ttl');
  if (ttl !== undefined) input.metadataTtlSeconds = Math.round(parseDuration(ttl, 'ttl', 's') / 1000);
  const negative = text('negative-ttl');
  if (negative !== undefined) input.negativeTtlSeconds = Math.round(parseDuration(negative, 'negative-ttl', 's') / 1000);
  const timeout = text('timeout');
  if (timeout !== undefined) input.timeoutMs = parseDuration(timeout, 'timeout', 'ms');
  const retries = text('retries');
  if (retries !== undefined) input.retries = wholeNumber(retries, 'retries');
  const concurrency = text('concurrency');
  if (concurrency !== undefined) input.concurrency = wholeNumber(concurrency, 'concurrency');
  const cooldown = text('cooldown');
  if (cooldown !== undefined) {
    const ms = parseDuration(cooldown, 'cooldown', 'h');
    if (ms % 3_600_000 !== 0) throw new UsageError('--cooldown is counted in whole hours (e.g. 72h or 3d)');
    input.cooldownHours = ms / 3_600_000;
  }
  const allow = text('cooldown-allow');
  if (allow !== undefined) input.cooldownAllow = allow.split(',').map((entry) => entry.trim()).filter(Boolean);
  // An empty list clears the origins: files then come from the upstream itself only.
  const fileOrigins = text('file-origins');
  if (fileOrigins !== undefined) input.fileOrigins = fileOrigins.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (options.offline === true && options.online === true) throw new UsageError('give --offline or --online, not both');
  if (options.offline === true) input.offline = true;
  if (options.online === true) input.offline = false;
  if (options.prefetch === true && options['no-prefetch'] === true) throw new UsageError('give --prefetch or --no-prefetch, not both');
  if (options.prefetch === true) input.prefetch = true;
  if (options['no-prefetch'] === true) input.prefetch = false;
  const tokenEnv = text('token-env');
  if (tokenEnv !== undefined && options['no-credentials'] === true) throw new UsageError('give --token-env or --no-credentials, not both');
  if (tokenEnv !== undefined) {
    const token = env[tokenEnv];
    if (!token) throw new UsageError(`the environment variable ${tokenEnv} (--token-env) is empty or not set`);
    input.token = token;
  }
  if (options['no-credentials'] === true) input.token = null;
  return input;
}

/** A repeatable option (`--member a --member b`), in the order given. */
function listOption(options: OptionValues, name: string): string[] {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

function virtualReposOf(domain: Domain) {
  return createVirtualRepos({ db: domain.db, audit: domain.audit, changes: domain.changes, repos: domain.repos });
}

function describeMembers(repo: RepoInfo, s: VirtualSettings): string {
  return [
    `repository   ${repo.path} (virtual, ${s.format})`,
    ...s.members.map((m, i) => `${i === 0 ? 'members      ' : '             '}${i + 1}. ${m.path} (${m.kind}, ${m.visibility})`),
    `claims       ${s.claims.length > 0 ? s.claims.join(', ') : 'none'}`,
  ].join('\n');
}

function remoteSettingsOf(config: Config, domain: Domain) {
  return createRemoteSettings({ db: domain.db, audit: domain.audit, changes: domain.changes, box: createSecretBox(loadServerKey(config)) });
}

function describeUpstream(repo: RepoInfo, s: UpstreamSettings): string {
  return [
    `repository   ${repo.path} (remote, ${s.format})`,
    `upstream     ${s.url}`,
    `credentials  ${s.hasCredentials ? 'set' : 'none'}`,
    `metadata ttl ${s.metadataTtlSeconds}s (not found: ${s.negativeTtlSeconds}s)`,
    `timeout      ${s.timeoutMs}ms, ${s.retries} retries, ${s.concurrency} concurrent`,
    `cooldown     ${s.cooldownHours > 0 ? `${s.cooldownHours}h` : 'off'}${s.cooldownAllow.length > 0 ? ` (allowed: ${s.cooldownAllow.join(', ')})` : ''}`,
    `offline      ${s.offline ? 'yes: only cached packages are served' : 'no'}`,
    `prefetch     ${s.prefetch ? 'yes: an install fetches latest while it reads metadata' : 'no'}`,
    `file origins ${s.fileOrigins.length > 0 ? s.fileOrigins.join(', ') : 'none: files only from the upstream itself'}`,
  ].join('\n');
}

const repoCreate: Command = {
  name: 'repo create',
  summary: 'create a hosted repository, a remote one that proxies an upstream registry, or a virtual one that merges others',
  usage:
    'owner/name [--public|--private] [--description D] [--url URL] [--remote FORMAT --upstream URL [--ttl 5m] [--cooldown 72h] [--offline] [--file-origins URL,…] [--token-env VAR] …] ' +
    '[--virtual FORMAT --member owner/repo … [--claim PATTERN …]]',
  description:
    'Creates a repository under a user or organization. Private (the default) repositories are invisible to anyone without a role on the owner. ' +
    'With --remote FORMAT and --upstream URL the repository proxies and caches that upstream registry (see docs/remote.md); ' +
    'the upstream token is read from the environment variable named by --token-env, never from the command line. ' +
    'With --virtual FORMAT the repository merges the --member repositories (hosted or remote, same owner, in the order given); ' +
    'names a hosted member has, or that a --claim (@scope/*, prefix-*, an exact name) covers, never resolve from a remote member.',
  options: {
    public: { type: 'boolean' },
    private: { type: 'boolean' },
    description: { type: 'string' },
    url: { type: 'string' },
    remote: { type: 'string' },
    upstream: { type: 'string' },
    virtual: { type: 'string' },
    member: { type: 'string', multiple: true },
    claim: { type: 'string', multiple: true },
    ...UPSTREAM_OPTIONS,
  },
  args: { min: 1, max: 1 },
  examples: [
    'stockade repo create acme/web --public --description "web team packages"',
    'stockade repo create acme/npm-remote --remote npm --upstream https://registry.example.com --cooldown 72h',
    "stockade repo create acme/npm-all --virtual npm --member acme/npm-hosted --member acme/npm-remote --claim '@acme/*'",
  ],
  async run(ctx) {
    const { owner, name } = parseRepoPath(arg(ctx, 0));
    if (ctx.options.public === true && ctx.options.private === true) throw new UsageError('give --public or --private, not both');
    const visibility = ctx.options.public === true ? 'public' : 'private';
    const description = stringOption(ctx.options, 'description');
    const format = stringOption(ctx.options, 'remote');
    const upstreamUrl = stringOption(ctx.options, 'upstream');
    if ((format === undefined) !== (upstreamUrl === undefined)) throw new UsageError('a remote repository needs both --remote FORMAT and --upstream URL');
    const settings = upstreamInput(ctx.options, ctx.env);
    if (format === undefined && Object.keys(settings).length > 0) throw new UsageError('upstream options need --remote FORMAT --upstream URL');
    const virtualFormat = stringOption(ctx.options, 'virtual');
    const members = listOption(ctx.options, 'member');
    const claims = listOption(ctx.options, 'claim');
    if (virtualFormat !== undefined && format !== undefined) throw new UsageError('give --remote or --virtual, not both');
    if (virtualFormat === undefined && (members.length > 0 || claims.length > 0)) throw new UsageError('--member and --claim need --virtual FORMAT');
    if (virtualFormat !== undefined && members.length === 0) throw new UsageError('a virtual repository needs at least one --member owner/repo');
    const { repo, urls } = await withServices(ctx.configFile, ctx.env, async ({ config, domain }) => {
      const common = { owner, name, visibility, ...(description === undefined ? {} : { description }) } as const;
      let repo: RepoInfo;
      if (format !== undefined && upstreamUrl !== undefined) {
        const remotes = remoteSettingsOf(config, domain);
        const upstream: UpstreamInput = { ...settings, format, url: upstreamUrl };
        remotes.prepare(upstream);
        repo = await domain.repos.create(cliActor(), {
          ...common,
          kind: 'remote',
          within: async (tx, repoId) => {
            await remotes.insert(tx, repoId, upstream);
            return { upstream: remotes.auditDetails(upstream) };
          },
        });
      } else if (virtualFormat !== undefined) {
        const within = await virtualReposOf(domain).prepare(owner, visibility, { format: virtualFormat, members, claims });
        repo = await domain.repos.create(cliActor(), { ...common, kind: 'virtual', within });
      } else {
        repo = await domain.repos.create(cliActor(), common);
      }
      return { repo, urls: await registryUrls(serverBaseUrl(config, stringOption(ctx.options, 'url')), repo) };
    });
    ctx.out.result({ ...repo, registries: urls }, () => `created ${repo.visibility} ${repo.kind === 'hosted' ? '' : `${repo.kind} `}repository ${repo.path}\n${describe(repo, urls)}`);
    return 0;
  },
};

const repoUpstream: Command = {
  name: 'repo upstream',
  summary: "show or change a remote repository's upstream settings",
  usage: 'owner/name [--upstream URL] [--ttl D] [--negative-ttl D] [--timeout D] [--retries N] [--concurrency N] [--cooldown D] [--cooldown-allow a,b@1.2.3] [--file-origins URL,…] [--offline|--online] [--prefetch|--no-prefetch] [--token-env VAR|--no-credentials]',
  description:
    'Without options, shows the settings (credentials are never shown, only whether they are set). Each option changes one setting; ' +
    'the change is audited. --cooldown hides upstream versions younger than that (0 turns it off); --cooldown-allow replaces the allow-list. ' +
    '--file-origins replaces the origins besides the upstream that files may come from (listed in metadata or by redirect); an empty value clears them.',
  options: { upstream: { type: 'string' }, ...UPSTREAM_OPTIONS },
  args: { min: 1, max: 1 },
  examples: [
    'stockade repo upstream acme/npm-remote',
    'stockade repo upstream acme/npm-remote --cooldown 72h --cooldown-allow left-pad@1.3.1',
    'stockade repo upstream acme/npm-remote --offline',
    'stockade repo upstream acme/py-remote --file-origins https://files.example.org',
  ],
  async run(ctx) {
    const input = upstreamInput(ctx.options, ctx.env);
    const url = stringOption(ctx.options, 'upstream');
    if (url !== undefined) input.url = url;
    const { repo, settings } = await withServices(ctx.configFile, ctx.env, async ({ config, domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      const remotes = remoteSettingsOf(config, domain);
      const settings = Object.keys(input).length > 0 ? await remotes.update(cliActor(), repo, input) : await remotes.get(repo);
      return { repo, settings };
    });
    ctx.out.result(settings, () => describeUpstream(repo, settings));
    return 0;
  },
};

const repoMembers: Command = {
  name: 'repo members',
  summary: "show or replace a virtual repository's members and namespace claims",
  usage: 'owner/name [--member owner/repo …] [--claim PATTERN … | --no-claims]',
  description:
    'Without options, shows the members in resolution order and the claims. --member (repeated) replaces the member list in the order given; ' +
    '--claim (repeated) replaces the claims, --no-claims removes them. Every change is audited.',
  options: { member: { type: 'string', multiple: true }, claim: { type: 'string', multiple: true }, 'no-claims': { type: 'boolean' } },
  args: { min: 1, max: 1 },
  examples: ['stockade repo members acme/npm-all', "stockade repo members acme/npm-all --member acme/npm-hosted --member acme/npm-remote --claim '@acme/*' --claim 'acme-*'"],
  async run(ctx) {
    const members = listOption(ctx.options, 'member');
    const claims = listOption(ctx.options, 'claim');
    if (claims.length > 0 && ctx.options['no-claims'] === true) throw new UsageError('give --claim or --no-claims, not both');
    const newClaims = ctx.options['no-claims'] === true ? [] : claims.length > 0 ? claims : undefined;
    const { repo, settings } = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      const virtuals = virtualReposOf(domain);
      if (members.length === 0 && newClaims === undefined) return { repo, settings: await virtuals.get(repo) };
      const current = members.length > 0 ? members : (await virtuals.get(repo)).members.map((m) => m.path);
      return { repo, settings: await virtuals.update(cliActor(), repo, { members: current, ...(newClaims !== undefined ? { claims: newClaims } : {}) }) };
    });
    ctx.out.result(settings, () => describeMembers(repo, settings));
    return 0;
  },
};

const repoCollisions: Command = {
  name: 'repo collisions',
  summary: 'list names an upstream offers that a virtual repository keeps private (attempted dependency confusion)',
  usage: 'owner/name',
  description:
    'Each row is an upstream (remote member) that offered a name a hosted member has, or a claim or used scope covers. The virtual repository ' +
    'never served it; the first sighting was also written to the audit log as repo.collision.',
  args: { min: 1, max: 1 },
  examples: ['stockade repo collisions acme/npm-all', 'stockade repo collisions acme/npm-all --json'],
  async run(ctx) {
    const rows = await withServices(ctx.configFile, ctx.env, async ({ domain }) => virtualReposOf(domain).collisions(await requireRepo(domain, arg(ctx, 0))));
    ctx.out.result(rows, () =>
      rows.length === 0
        ? 'no collisions'
        : table(
            ['NAME', 'UPSTREAM OF', 'PROTECTED BY', 'UPSTREAM NEWEST', 'SEEN'],
            rows.map((c) => [c.name, c.remote, c.reason, String(c.upstream.newest ?? '-'), formatDate(c.seenAt)]),
          ),
    );
    return 0;
  },
};

const repoList: Command = {
  name: 'repo list',
  summary: 'list repositories',
  usage: '[--owner O]',
  options: { owner: { type: 'string' } },
  args: { min: 0, max: 0 },
  examples: ['stockade repo list', 'stockade repo list --owner acme --json'],
  async run(ctx) {
    const owner = stringOption(ctx.options, 'owner');
    const repos = await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.repos.list(owner === undefined ? {} : { owner }));
    ctx.out.result(repos, () =>
      table(
        ['REPOSITORY', 'VISIBILITY', 'CREATED', 'DESCRIPTION'],
        repos.map((r) => [r.path, r.visibility, formatDate(r.createdAt), r.description || '-']),
      ),
    );
    return 0;
  },
};

const repoShow: Command = {
  name: 'repo show',
  summary: 'show a repository and its client URLs',
  usage: 'owner/name [--url URL]',
  description:
    'The registry URLs start with --url, else server.publicUrl, else the configured listen address ' +
    '(http://server.host:server.port). Set server.publicUrl when clients reach the server under another name.',
  options: { url: { type: 'string' } },
  args: { min: 1, max: 1 },
  examples: ['stockade repo show acme/web', 'stockade repo show acme/web --url https://packages.example.com'],
  async run(ctx) {
    const { repo, urls } = await withServices(ctx.configFile, ctx.env, async ({ config, domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      return { repo, urls: await registryUrls(serverBaseUrl(config, stringOption(ctx.options, 'url')), repo) };
    });
    ctx.out.result({ ...repo, registries: urls }, () => describe(repo, urls));
    return 0;
  },
};

const repoKeys: Command = {
  name: 'repo keys',
  summary: "list a repository's signing keys",
  usage: 'owner/name',
  description: 'The OpenPGP keys that sign the repository metadata (APT InRelease). Active keys sign; retired ones are listed with the time they were retired. The first key is created on first use.',
  args: { min: 1, max: 1 },
  examples: ['stockade repo keys acme/os'],
  async run(ctx) {
    const keys = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      await domain.repoKeys.ensure(cliActor(), repo);
      return domain.repoKeys.list(repo);
    });
    ctx.out.result(keys, () => table(['FINGERPRINT', 'CREATED', 'RETIRED'], keys.map((k) => [k.fingerprint, formatDate(k.createdAt), k.retiredAt ? formatDate(k.retiredAt) : 'active'])));
    return 0;
  },
};

const repoRotateKey: Command = {
  name: 'repo rotate-key',
  summary: 'add a new signing key; old and new keys both sign until the old one is retired',
  usage: 'owner/name',
  description:
    'Starts a key rotation: clients that only trust the old key keep verifying, because both keys sign. Distribute the new ' +
    'key (gpg.key / keyring.gpg now contain both), then run repo retire-key with the old fingerprint.',
  args: { min: 1, max: 1 },
  examples: ['stockade repo rotate-key acme/os'],
  async run(ctx) {
    const key = await withServices(ctx.configFile, ctx.env, async ({ domain }) => domain.repoKeys.rotate(cliActor(), await requireRepo(domain, arg(ctx, 0))));
    ctx.out.result(key, () => `new signing key ${key.fingerprint}; both keys sign until the old one is retired`);
    return 0;
  },
};

const repoRetireKey: Command = {
  name: 'repo retire-key',
  summary: 'stop signing with a key (ends a rotation)',
  usage: 'owner/name FINGERPRINT',
  args: { min: 2, max: 2 },
  examples: ['stockade repo retire-key acme/os 0123ABCD…'],
  async run(ctx) {
    const fingerprint = arg(ctx, 1);
    await withServices(ctx.configFile, ctx.env, async ({ domain }) => domain.repoKeys.retire(cliActor(), await requireRepo(domain, arg(ctx, 0)), fingerprint));
    ctx.out.result({ retired: fingerprint.toUpperCase() }, () => `retired signing key ${fingerprint.toUpperCase()}`);
    return 0;
  },
};

export const repoCommands: Command[] = [repoCreate, repoList, repoShow, repoUpstream, repoMembers, repoCollisions, repoKeys, repoRotateKey, repoRetireKey];
