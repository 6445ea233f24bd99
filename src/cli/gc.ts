import { type Command, stringOption, UsageError } from './command.js';
import { withServices } from './services.js';

const gc: Command = {
  name: 'gc',
  summary: 'remove package files nothing refers to any more',
  usage: '[--grace-hours N] [--dry-run]',
  description:
    'Deletes blobs no stored version refers to (blocked or failed uploads, rejected quarantined versions, unpublished ' +
    'versions) once they are older than --grace-hours (default 24), so a publish in flight is never touched. ' +
    'Safe while servers run. --dry-run only counts.',
  options: { 'grace-hours': { type: 'string' }, 'dry-run': { type: 'boolean' } },
  args: { min: 0, max: 0 },
  examples: ['stockade gc --dry-run', 'stockade gc --grace-hours 48 --json'],
  async run(ctx) {
    const hours = Number(stringOption(ctx.options, 'grace-hours') ?? 24);
    if (!Number.isFinite(hours) || hours < 1) throw new UsageError('--grace-hours must be at least 1');
    const dryRun = ctx.options['dry-run'] === true;
    const tally = await withServices(ctx.configFile, ctx.env, async ({ domain, blobs }) => {
      const { collectGarbage } = await import('../server/gc.js');
      return collectGarbage({ domain, blobs }, { graceMs: hours * 3_600_000, dryRun });
    });
    ctx.out.result({ ...tally, dryRun }, () =>
      `${dryRun ? 'would remove' : 'removed'} ${tally.removed} unreferenced blobs (${tally.bytesRemoved} bytes) of ${tally.scanned}; ` +
      `${tally.spared} younger than ${hours} h kept`,
    );
    return 0;
  },
};

export const gcCommands: Command[] = [gc];
