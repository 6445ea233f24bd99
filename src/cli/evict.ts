import { API_OPTIONS, apiTarget, callApi } from './api-client.js';
import { arg, type Command, parseRepoPath } from './command.js';

interface EvictAnswer {
  format: string;
  name: string;
  version: string;
  evicted: boolean;
}

const evict: Command = {
  name: 'evict',
  summary: "drop a remote repository's cached copy of a version; the next request fetches it again through the gate",
  usage: '<owner/repo> <format> <name> <version> [--otp CODE] [--url URL] [--token TOKEN]',
  description:
    'Removes the stored copy of VERSION of package NAME that the remote repository OWNER/REPO fetched from its upstream, ' +
    'quarantined or not, over the REST API (DELETE …/packages/FORMAT/NAME/versions/VERSION). The next request for it ' +
    'fetches it from the upstream again and runs the gate on it: for a copy stored before an advisory or an analyzer ' +
    'update, or one the upstream has replaced. Hosted and virtual repositories refuse (NOT_A_CACHE): their versions are ' +
    'yanked or unpublished with the format\'s client. Needs admin rights on the repository. --url and --token default ' +
    'to STOCKADE_URL and STOCKADE_TOKEN; with two-factor authentication, pass the code with --otp.',
  options: API_OPTIONS,
  args: { min: 4, max: 4 },
  examples: ['stockade evict acme/npm-remote npm left-pad 1.3.0'],
  async run(ctx) {
    const repo = parseRepoPath(arg(ctx, 0));
    const [format, name, version] = [arg(ctx, 1), arg(ctx, 2), arg(ctx, 3)];
    const target = apiTarget(ctx.options, ctx.env);
    const result = await callApi<EvictAnswer>(target, 'DELETE', ['repos', repo.owner, repo.name, 'packages', format, name, 'versions', version]);
    ctx.out.result(result, () => `evicted ${result.format} package ${result.name} ${result.version} from ${repo.owner}/${repo.name}: the next request fetches it again`);
    return 0;
  },
};

export const evictCommands: Command[] = [evict];
