import { API_OPTIONS, apiTarget, callApi } from './api-client.js';
import { arg, type Command, parseRepoPath, stringOption, UsageError } from './command.js';

interface YankAnswer {
  format: string;
  name: string;
  version: string;
  yanked: { at: string; reason: string } | null;
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
    ...API_OPTIONS,
  },
  args: { min: 4, max: 4 },
  examples: ['stockade yank acme/py pypi demo 1.1.0 --reason "broken on Python 3.12"', 'stockade yank acme/py pypi demo 1.1.0 --undo'],
  async run(ctx) {
    const repo = parseRepoPath(arg(ctx, 0));
    const [format, name, version] = [arg(ctx, 1), arg(ctx, 2), arg(ctx, 3)];
    const target = apiTarget(ctx.options, ctx.env);
    const undo = ctx.options.undo === true;
    const reason = stringOption(ctx.options, 'reason');
    if (undo && reason !== undefined) throw new UsageError('--reason and --undo do not go together');
    if (reason !== undefined && reason.length > 1024) throw new UsageError('--reason is limited to 1024 characters');
    const segments = ['repos', repo.owner, repo.name, 'packages', format, name, 'versions', version, 'yank'];
    const result = await callApi<YankAnswer>(target, undo ? 'DELETE' : 'POST', segments, undo ? undefined : reason ? { reason } : {});
    ctx.out.result(result, () =>
      result.yanked
        ? `yanked ${result.format} package ${result.name} ${result.version} in ${repo.owner}/${repo.name}${result.yanked.reason ? `: ${result.yanked.reason}` : ''}`
        : `${result.format} package ${result.name} ${result.version} in ${repo.owner}/${repo.name} is no longer yanked`,
    );
    return 0;
  },
};

export const yankCommands: Command[] = [yank];
