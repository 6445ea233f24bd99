import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { StockadeError } from '../errors.js';
import { arg, type Command, stringOption, UsageError } from './command.js';
import { formatDate, table } from './output.js';
import { cliActor, requireRepo, withServices } from './services.js';

/** A policy document from a YAML or JSON file (`-` for standard input), not yet validated. */
export function readPolicyDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return YAML.parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new StockadeError('INVALID_POLICY', [`${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`]);
  }
}

async function loadPolicyModule() {
  return import('../security/policy.js');
}

const policyShow: Command = {
  name: 'policy show',
  summary: "show a repository's security policy and exceptions",
  usage: 'owner/repo',
  args: { min: 1, max: 1 },
  examples: ['stockade policy show acme/web', 'stockade policy show acme/web --json'],
  async run(ctx) {
    const { DEFAULT_POLICY, parsePolicy } = await loadPolicyModule();
    const view = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      const record = await domain.policies.get(repo);
      return { custom: record.document !== null, policy: record.document === null ? DEFAULT_POLICY : parsePolicy(record.document), exceptions: record.exceptions };
    });
    ctx.out.result(view, () => {
      const lines = [`# ${view.custom ? 'custom policy' : 'default policy'}`, YAML.stringify(view.policy).trimEnd()];
      if (view.exceptions.length > 0) {
        lines.push('', 'exceptions:');
        lines.push(
          table(
            ['ID', 'PACKAGE', 'VERSION', 'RULE', 'EXPIRES', 'REASON'],
            view.exceptions.map((e) => [String(e.id), e.package, e.version ?? '*', e.rule ?? '*', e.expiresAt ? formatDate(e.expiresAt) : 'never', e.reason]),
          ),
        );
      }
      return lines.join('\n');
    });
    return 0;
  },
};

const policySet: Command = {
  name: 'policy set',
  summary: "replace a repository's security policy with a YAML or JSON document",
  usage: 'owner/repo FILE',
  description:
    'The document has `version: 1`, optional `onAnalyzerFailure` and `defaultAction` (allow, warn, quarantine or block) and ' +
    'ordered `rules`, each `{match: {analyzer, rule, severityAtLeast, confidenceAtLeast, package}, action}`. The first rule that ' +
    'selects a finding decides its action. Errors name the exact path in the document. `-` reads standard input.',
  args: { min: 2, max: 2 },
  examples: ['stockade policy set acme/web policy.yaml'],
  async run(ctx) {
    const { parsePolicy } = await loadPolicyModule();
    const file = arg(ctx, 1);
    const document = readPolicyDocument(file);
    const policy = parsePolicy(document);
    const repoPath = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      await domain.policies.set(cliActor(), repo, policy);
      return repo.path;
    });
    ctx.out.result({ repo: repoPath, policy }, () => `policy of ${repoPath} replaced (${policy.rules.length} rules)`);
    return 0;
  },
};

const policyReset: Command = {
  name: 'policy reset',
  summary: 'return a repository to the default security policy',
  usage: 'owner/repo',
  args: { min: 1, max: 1 },
  async run(ctx) {
    const repoPath = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      await domain.policies.set(cliActor(), repo, null);
      return repo.path;
    });
    ctx.out.result({ repo: repoPath, custom: false }, () => `${repoPath} uses the default policy`);
    return 0;
  },
};

const exceptionAdd: Command = {
  name: 'policy allow',
  summary: 'add an exception: let a package (version, rule) through despite the policy',
  usage: 'owner/repo PACKAGE [--version V] [--rule RULE] --reason TEXT [--expires ISO-DATE|--days N]',
  description: 'PACKAGE and RULE may be globs (`@acme/*`, `secrets/*`). Every exception needs a reason and is recorded in the audit log.',
  options: { version: { type: 'string' }, rule: { type: 'string' }, reason: { type: 'string' }, expires: { type: 'string' }, days: { type: 'string' } },
  args: { min: 2, max: 2 },
  examples: ['stockade policy allow acme/web left-pad --rule "typosquat/*" --reason "internal fork" --days 30'],
  async run(ctx) {
    const reason = stringOption(ctx.options, 'reason');
    if (!reason) throw new UsageError('--reason is required');
    const expires = stringOption(ctx.options, 'expires');
    const days = stringOption(ctx.options, 'days');
    if (expires !== undefined && days !== undefined) throw new UsageError('give --expires or --days, not both');
    let expiresAt: string | null = null;
    if (expires !== undefined) {
      const at = Date.parse(expires);
      if (!(at > Date.now())) throw new UsageError('--expires must be a future date (ISO 8601)');
      expiresAt = new Date(at).toISOString();
    }
    if (days !== undefined) {
      const n = Number(days);
      if (!Number.isInteger(n) || n < 1) throw new UsageError('--days must be a positive whole number');
      expiresAt = new Date(Date.now() + n * 86_400_000).toISOString();
    }
    const created = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const repo = await requireRepo(domain, arg(ctx, 0));
      return domain.policies.addException(cliActor(), repo, {
        package: arg(ctx, 1),
        version: stringOption(ctx.options, 'version') ?? null,
        rule: stringOption(ctx.options, 'rule') ?? null,
        reason,
        expiresAt,
      });
    });
    ctx.out.result(created, () => `exception ${created.id} added for ${created.package}${created.version ? `@${created.version}` : ''}`);
    return 0;
  },
};

const exceptionRemove: Command = {
  name: 'policy unallow',
  summary: 'remove an exception by its id',
  usage: 'owner/repo ID',
  args: { min: 2, max: 2 },
  async run(ctx) {
    const id = Number(arg(ctx, 1));
    if (!Number.isInteger(id) || id < 1) throw new UsageError('ID must be a positive whole number (see `stockade policy show`)');
    await withServices(ctx.configFile, ctx.env, async ({ domain }) => domain.policies.removeException(cliActor(), await requireRepo(domain, arg(ctx, 0)), id));
    ctx.out.result({ removed: id }, () => `exception ${id} removed`);
    return 0;
  },
};

const quarantineList: Command = {
  name: 'quarantine list',
  summary: 'list versions held for review, with their findings',
  usage: '[owner/repo]',
  args: { min: 0, max: 1 },
  examples: ['stockade quarantine list acme/web'],
  async run(ctx) {
    const held = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const repo = ctx.args[0] === undefined ? undefined : await requireRepo(domain, ctx.args[0]);
      const rows = await domain.packages.listQuarantined(repo);
      const repos = new Map((await domain.repos.list({})).map((r) => [r.id, r.path]));
      return rows.map((r) => ({ repo: repos.get(r.repoId) ?? String(r.repoId), format: r.format, name: r.name, version: r.version, publisher: r.publisher, createdAt: r.createdAt, reasons: r.gate.reasons ?? [], findings: r.gate.findings }));
    });
    ctx.out.result(held, () => {
      if (held.length === 0) return 'nothing is quarantined';
      return held
        .map((h) => [`${h.repo} ${h.format} ${h.name}@${h.version}  (published by ${h.publisher}, ${formatDate(h.createdAt)})`, ...h.reasons.map((r) => `  ${r}`)].join('\n'))
        .join('\n\n');
    });
    return 0;
  },
};

function reviewCommand(decision: 'approve' | 'reject'): Command {
  return {
    name: `quarantine ${decision}`,
    summary: decision === 'approve' ? 'publish a quarantined version' : 'delete a quarantined version',
    usage: 'owner/repo FORMAT NAME VERSION --reason TEXT',
    description: 'The decision, the reviewer and the reason are recorded in the audit log.',
    options: { reason: { type: 'string' } },
    args: { min: 4, max: 4 },
    examples: [`stockade quarantine ${decision} acme/web npm @acme/tool 1.2.0 --reason "${decision === 'approve' ? 'script only builds the native addon' : 'posts tokens to a webhook'}"`],
    async run(ctx) {
      const reason = stringOption(ctx.options, 'reason');
      if (!reason) throw new UsageError('--reason is required');
      const [formatName, name, version] = [arg(ctx, 1), arg(ctx, 2), arg(ctx, 3)];
      const { findFormat } = await import('../formats/list.js');
      const format = findFormat(formatName);
      if (!format) throw new UsageError(`unknown format ${formatName}`);
      const repoPath = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
        const repo = await requireRepo(domain, arg(ctx, 0));
        await domain.packages.review(cliActor(), { repo, format: format.name, name }, { version, decision, reason, compare: format.compareVersions });
        return repo.path;
      });
      ctx.out.result({ repo: repoPath, format: format.name, name, version, decision }, () =>
        decision === 'approve' ? `${name}@${version} approved and published in ${repoPath}` : `${name}@${version} rejected and deleted from ${repoPath}`,
      );
      return 0;
    },
  };
}

export const policyCommands: Command[] = [policyShow, policySet, policyReset, exceptionAdd, exceptionRemove, quarantineList, reviewCommand('approve'), reviewCommand('reject')];
