import type { RepoInfo } from '../domain/repos.js';
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

const repoCreate: Command = {
  name: 'repo create',
  summary: 'create a hosted repository',
  usage: 'owner/name [--public|--private] [--description D] [--url URL]',
  description: 'Creates a repository under a user or organization. Private (the default) repositories are invisible to anyone without a role on the owner.',
  options: {
    public: { type: 'boolean' },
    private: { type: 'boolean' },
    description: { type: 'string' },
    url: { type: 'string' },
  },
  args: { min: 1, max: 1 },
  examples: ['stockade repo create acme/web --public --description "web team packages"'],
  async run(ctx) {
    const { owner, name } = parseRepoPath(arg(ctx, 0));
    if (ctx.options.public === true && ctx.options.private === true) throw new UsageError('give --public or --private, not both');
    const visibility = ctx.options.public === true ? 'public' : 'private';
    const description = stringOption(ctx.options, 'description');
    const { repo, urls } = await withServices(ctx.configFile, ctx.env, async ({ config, domain }) => {
      const repo = await domain.repos.create(cliActor(), { owner, name, visibility, ...(description === undefined ? {} : { description }) });
      return { repo, urls: await registryUrls(serverBaseUrl(config, stringOption(ctx.options, 'url')), repo) };
    });
    ctx.out.result({ ...repo, registries: urls }, () => `created ${repo.visibility} repository ${repo.path}\n${describe(repo, urls)}`);
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

export const repoCommands: Command[] = [repoCreate, repoList, repoShow, repoKeys, repoRotateKey, repoRetireKey];
