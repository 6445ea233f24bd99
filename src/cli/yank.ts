import { arg, type Command, CliError, parseRepoPath, stringOption, UsageError } from './command.js';

// Answers are small JSON; anything larger is not ours.
const MAX_RESPONSE = 1024 * 1024;

interface YankAnswer {
  format: string;
  name: string;
  version: string;
  yanked: { at: string; reason: string } | null;
}

function endpoint(base: string, repo: { owner: string; name: string }, format: string, name: string, version: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`server URL "${base}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`server URL "${base}" must start with http:// or https://`);
  const parts = [repo.owner, repo.name, 'packages', format, name, 'versions', version].map(encodeURIComponent);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/repos/${parts.slice(0, 2).join('/')}/${parts.slice(2).join('/')}/yank`;
  url.search = '';
  return url;
}

const yank: Command = {
  name: 'yank',
  summary: 'yank a version (installers skip it unless pinned exactly), or take the yank back',
  usage: '<owner/repo> <format> <name> <version> [--reason TEXT] [--undo] [--otp CODE] [--url URL] [--token TOKEN]',
  description:
    'Marks VERSION of package NAME as yanked over the REST API (POST …/packages/FORMAT/NAME/versions/VERSION/yank): ' +
    'pip and bundler no longer choose it, but a requirement pinned to exactly that version still installs it, and ' +
    'its files stay. Yanking again replaces the reason; --undo takes the yank back. Needs write access to the ' +
    'repository. --url and --token default to STOCKADE_URL and STOCKADE_TOKEN. With two-factor authentication, ' +
    'pass the code from your authenticator app with --otp (automation tokens need none).',
  options: {
    reason: { type: 'string' },
    undo: { type: 'boolean' },
    otp: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
  },
  args: { min: 4, max: 4 },
  examples: ['stockade yank acme/py pypi demo 1.1.0 --reason "broken on Python 3.12"', 'stockade yank acme/py pypi demo 1.1.0 --undo'],
  async run(ctx) {
    const repo = parseRepoPath(arg(ctx, 0));
    const [format, name, version] = [arg(ctx, 1), arg(ctx, 2), arg(ctx, 3)];
    const base = stringOption(ctx.options, 'url') ?? ctx.env.STOCKADE_URL;
    const token = stringOption(ctx.options, 'token') ?? ctx.env.STOCKADE_TOKEN;
    if (!base) throw new UsageError('no server URL: pass --url or set STOCKADE_URL');
    if (!token) throw new UsageError('no token: set STOCKADE_TOKEN or pass --token');
    const undo = ctx.options.undo === true;
    const reason = stringOption(ctx.options, 'reason');
    if (undo && reason !== undefined) throw new UsageError('--reason and --undo do not go together');
    if (reason !== undefined && reason.length > 1024) throw new UsageError('--reason is limited to 1024 characters');
    const otp = stringOption(ctx.options, 'otp')?.trim();
    const url = endpoint(base, repo, format, name, version);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (otp) headers['x-stockade-otp'] = otp;
    if (!undo) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, { method: undo ? 'DELETE' : 'POST', headers, ...(undo ? {} : { body: JSON.stringify(reason ? { reason } : {}) }) });
    } catch (error) {
      throw new CliError(`cannot reach ${url.origin}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`);
    }
    const body = (await response.text()).slice(0, MAX_RESPONSE);
    if (!response.ok) {
      let message = `server answered ${response.status} ${response.statusText}`.trim();
      let code = 'HTTP_ERROR';
      try {
        const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
        if (typeof parsed.error?.message === 'string') message = parsed.error.message;
        if (typeof parsed.error?.code === 'string') code = parsed.error.code;
      } catch {
        // Not the API's error shape: a proxy's page.
      }
      throw new CliError(message, 1, code);
    }
    let result: YankAnswer;
    try {
      result = JSON.parse(body) as YankAnswer;
    } catch {
      throw new CliError(`server answered ${response.status} without a JSON body`);
    }
    ctx.out.result(result, () =>
      result.yanked
        ? `yanked ${result.format} package ${result.name} ${result.version} in ${repo.owner}/${repo.name}${result.yanked.reason ? `: ${result.yanked.reason}` : ''}`
        : `${result.format} package ${result.name} ${result.version} in ${repo.owner}/${repo.name} is no longer yanked`,
    );
    return 0;
  },
};

export const yankCommands: Command[] = [yank];
