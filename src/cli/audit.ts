import { type AuditEntry, type AuditFilter, parseAuditTime } from '../domain/audit.js';
import { type Command, type CommandContext, parseRepoPath, stringOption, UsageError } from './command.js';
import { withServices } from './services.js';

const auditVerify: Command = {
  name: 'audit verify',
  summary: 'check the hash chain of the audit log',
  usage: '',
  description:
    'Recomputes every entry hash and link. Exit 0 when the chain is intact; exit 1 naming the first ' +
    'entry that was altered, removed or inserted.',
  args: { min: 0, max: 0 },
  examples: ['stockade audit verify', 'stockade audit verify --json'],
  async run(ctx) {
    const result = await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.audit.verify(domain.db));
    ctx.out.result(result, () => (result.ok ? `audit log intact: ${result.checked} entries checked` : ''));
    if (result.ok) return 0;
    const broken = result.firstBroken;
    ctx.out.note(`stockade: audit log broken at entry ${broken?.id ?? '?'}: ${broken?.reason ?? 'unknown reason'}`);
    return 1;
  },
};

/** The exported shape: the API's field names, every field needed to re-check the chain. */
function exported(entry: AuditEntry) {
  return {
    id: entry.id,
    at: entry.at,
    actor: entry.actor,
    actorIp: entry.actor_ip,
    action: entry.action,
    target: entry.target,
    details: entry.details,
    hash: entry.hash,
    prevHash: entry.prev_hash,
  };
}

function timeOption(ctx: CommandContext, name: 'since' | 'until'): string | undefined {
  const raw = stringOption(ctx.options, name);
  if (raw === undefined) return undefined;
  const parsed = parseAuditTime(raw);
  if (parsed === null) throw new UsageError(`--${name} "${raw}" is not an ISO 8601 date or time (e.g. 2025-01-31 or 2025-01-31T12:00:00Z)`);
  return parsed;
}

// Output is flushed in chunks of about this size rather than per entry or all at the end.
const FLUSH_BYTES = 64 * 1024;

const auditExport: Command = {
  name: 'audit export',
  summary: 'write audit log entries to stdout as JSON lines or a JSON array',
  usage: '[--since ISO] [--until ISO] [--actor NAME] [--action A|PREFIX*] [--repo owner/name] [--format jsonl|json]',
  description:
    'Streams the matching entries oldest first, with their hashes, so the export can be archived ' +
    'and its chain checked elsewhere. --since is inclusive, --until exclusive; a date alone is ' +
    'midnight UTC. --action auth.* selects every action starting with "auth.". --repo selects the ' +
    'repository and every package and version in it. Default format: jsonl, one object per line.',
  options: {
    since: { type: 'string' },
    until: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    repo: { type: 'string' },
    format: { type: 'string' },
  },
  args: { min: 0, max: 0 },
  examples: [
    'stockade audit export > audit-$(date +%F).jsonl',
    "stockade audit export --since 2025-01-01 --until 2025-02-01 --action 'auth.*'",
    'stockade audit export --repo acme/web --format json',
  ],
  async run(ctx) {
    const format = stringOption(ctx.options, 'format') ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'json') throw new UsageError(`--format must be jsonl or json, not "${format}"`);
    // Output.result under --json would wrap each chunk in a JSON document of its own.
    if (ctx.out.json) throw new UsageError('audit export writes JSON itself: use --format json instead of --json');
    const repo = stringOption(ctx.options, 'repo');
    if (repo !== undefined) parseRepoPath(repo);
    const filter: AuditFilter = {
      since: timeOption(ctx, 'since'),
      until: timeOption(ctx, 'until'),
      actor: stringOption(ctx.options, 'actor'),
      action: stringOption(ctx.options, 'action'),
      repo,
    };

    // The context has no raw stdout; Output.result writes text that ends in a newline unchanged.
    const write = (text: string) => ctx.out.result(null, () => text);
    let chunk = format === 'json' ? '[\n' : '';
    // For a JSON array the separator after an entry is only known once the next one arrives.
    let held: string | null = null;
    let count = 0;
    await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      for await (const entry of domain.audit.stream(domain.db, filter)) {
        const line = JSON.stringify(exported(entry));
        count++;
        if (format === 'jsonl') chunk += `${line}\n`;
        else {
          if (held !== null) chunk += `  ${held},\n`;
          held = line;
        }
        if (chunk.length >= FLUSH_BYTES) {
          write(chunk);
          chunk = '';
        }
      }
    });
    if (format === 'json') chunk += `${held === null ? '' : `  ${held}\n`}]\n`;
    if (chunk !== '') write(chunk);
    ctx.out.note(`exported ${count} audit ${count === 1 ? 'entry' : 'entries'}`);
    return 0;
  },
};

export const auditCommands: Command[] = [auditVerify, auditExport];
