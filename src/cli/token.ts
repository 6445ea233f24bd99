import { parseScopes, TOKEN_KINDS, type TokenKind } from '../domain/tokens.js';
import { StockadeError } from '../errors.js';
import { arg, type Command, parseRepoPath, requireOption, stringOption, UsageError } from './command.js';
import { formatDate, table } from './output.js';
import { cliActor, withServices } from './services.js';

const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `30d`, `12h`, `2w` from now, or an ISO-8601 date. */
export function parseExpiry(raw: string, now = Date.now()): string {
  const relative = /^(\d{1,6})([hdw])$/.exec(raw);
  if (relative) return new Date(now + Number(relative[1]) * (UNIT_MS[relative[2] as string] as number)).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(raw) && !Number.isNaN(Date.parse(raw))) return new Date(Date.parse(raw)).toISOString();
  throw new UsageError(`--expires "${raw}" is neither a duration like 30d, 12h, 2w nor an ISO date`);
}

const tokenCreate: Command = {
  name: 'token create',
  summary: 'create an API token for a user',
  usage: '--user NAME [--kind personal|automation|master] [--name N] [--scopes read,write,delete,admin] [--repo owner/name] [--expires 30d|ISO date] [--cidr RANGE,…]',
  description:
    'Prints the secret on stdout, once; it is stored only as a hash. Scopes: read, write (publish), delete ' +
    '(unpublish, yank), admin (all); default read,write. --repo limits the token to one repository. ' +
    'Kinds: personal (default; writes need a one-time password when the user has MFA), automation (for CI: ' +
    'no one-time password, needs --repo and --expires, no admin), master (a repository enrolment key that ' +
    'mints read tokens for machines). --cidr limits where the token may be used from.',
  options: {
    user: { type: 'string' },
    kind: { type: 'string' },
    cidr: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'string' },
    repo: { type: 'string' },
    expires: { type: 'string' },
  },
  args: { min: 0, max: 0 },
  examples: [
    'stockade token create --user alice --repo acme/web --expires 90d',
    'TOKEN=$(stockade token create --user ci-bot --name ci --scopes read)',
    'stockade token create --user alice --kind automation --repo acme/web --scopes write --expires 30d --cidr 10.20.0.0/16',
    'stockade token create --user alice --kind master --repo acme/web --name fleet',
  ],
  async run(ctx) {
    const userName = requireOption(ctx.options, 'user');
    const scopesRaw = stringOption(ctx.options, 'scopes') ?? 'read,write';
    let scopes;
    try {
      scopes = parseScopes(scopesRaw);
    } catch (error) {
      throw new UsageError((error as Error).message.replace(/^invalid request: /, ''));
    }
    const repoPath = stringOption(ctx.options, 'repo');
    const repoRef = repoPath === undefined ? null : parseRepoPath(repoPath);
    const expiresRaw = stringOption(ctx.options, 'expires');
    const expiresAt = expiresRaw === undefined ? null : parseExpiry(expiresRaw);
    const name = stringOption(ctx.options, 'name') ?? 'cli';
    const kind = (stringOption(ctx.options, 'kind') ?? 'personal') as TokenKind;
    if (!TOKEN_KINDS.includes(kind) || kind === 'read') throw new UsageError(`--kind must be personal, automation or master (read tokens are minted with a master token)`);
    const cidrs = stringOption(ctx.options, 'cidr')?.split(',') ?? null;
    const created = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const user = await domain.accounts.getUser(userName);
      if (!user) throw new StockadeError('NOT_FOUND', [`user ${userName}`]);
      let repoId: number | null = null;
      if (repoRef) {
        const repo = await domain.repos.get(repoRef.owner, repoRef.name);
        if (!repo) throw new StockadeError('NOT_FOUND', [`repository ${repoRef.owner}/${repoRef.name}`]);
        repoId = repo.id;
      }
      return domain.tokens.create(cliActor(), { userId: user.id, name, kind, scopes, repoId, expiresAt, cidrs });
    });
    const { token, secret } = created;
    ctx.out.result({ ...token, user: userName, secret }, () => secret);
    if (!ctx.out.json) {
      const limits = [`scopes ${token.scopes.join(',')}`, token.repo ? `repository ${token.repo}` : 'all repositories', token.expiresAt ? `expires ${formatDate(token.expiresAt)}` : 'no expiry'];
      ctx.out.note(`token ${token.id} "${token.name}" for ${userName} (${limits.join('; ')}); shown once, store it now`);
    }
    return 0;
  },
};

const tokenList: Command = {
  name: 'token list',
  summary: "list a user's active tokens",
  usage: '--user NAME',
  description: 'Lists tokens that are not revoked (expired ones included, marked by their date). Secrets are never shown.',
  options: { user: { type: 'string' } },
  args: { min: 0, max: 0 },
  examples: ['stockade token list --user alice'],
  async run(ctx) {
    const userName = requireOption(ctx.options, 'user');
    const tokens = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const user = await domain.accounts.getUser(userName);
      if (!user) throw new StockadeError('NOT_FOUND', [`user ${userName}`]);
      return domain.tokens.list(user.id);
    });
    ctx.out.result(tokens, () =>
      table(
        ['ID', 'KIND', 'NAME', 'TOKEN', 'SCOPES', 'REPO', 'EXPIRES', 'LAST USED'],
        tokens.map((t) => [
          String(t.id),
          t.kind,
          t.name,
          t.display,
          t.scopes.join(','),
          t.repo ?? '*',
          formatDate(t.expiresAt),
          t.lastUsedAt ? `${formatDate(t.lastUsedAt)} from ${t.lastUsedIp ?? '?'}` : 'never',
        ]),
      ),
    );
    return 0;
  },
};

const tokenRevoke: Command = {
  name: 'token revoke',
  summary: 'revoke a token by id',
  usage: 'ID',
  description: 'Revokes at once; a running server stops accepting the token on its next request. Revoking twice is not an error.',
  args: { min: 1, max: 1 },
  examples: ['stockade token revoke 7'],
  async run(ctx) {
    const raw = arg(ctx, 0);
    if (!/^[1-9]\d{0,14}$/.test(raw)) throw new UsageError(`token id "${raw}" is not a positive integer (see: stockade token list)`);
    const id = Number(raw);
    // Local admin commands act with site-admin rights: whoever can open the database can do anything.
    await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.tokens.revoke(cliActor(), { userId: 0, isAdmin: true, id }));
    ctx.out.result({ id, revoked: true }, () => `revoked token ${id}`);
    return 0;
  },
};

export const tokenCommands: Command[] = [tokenCreate, tokenList, tokenRevoke];
