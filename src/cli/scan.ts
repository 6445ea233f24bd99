import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isStockadeError } from '../errors.js';
import { type Command, stringOption, UsageError } from './command.js';
import { readPolicyDocument } from './policy.js';

const LEVELS = ['warn', 'quarantine', 'block'] as const;
type Level = (typeof LEVELS)[number];

interface FileResult {
  file: string;
  format?: string;
  name?: string;
  version?: string;
  sha256?: string;
  /** allow | warn | quarantine | block, or `error` when the file could not be opened as a package. */
  verdict: string;
  reasons: string[];
  findings: unknown[];
  failures: unknown[];
  error?: { code: string; message: string };
}

function formatResult(r: FileResult): string {
  if (r.error) return `${r.file}: ERROR ${r.error.message}`;
  const lines = [`${r.file}: ${r.format} ${r.name}@${r.version}  ${r.verdict.toUpperCase()}`];
  for (const f of r.findings as { action: string; severity: string; rule: string; message: string; location?: { file: string; line?: number } }[]) {
    const where = f.location ? `${f.location.file}${f.location.line ? `:${f.location.line}` : ''}` : '-';
    lines.push(`  ${f.action.padEnd(10)} ${f.severity.padEnd(8)} ${f.rule}  ${where}  ${f.message}`);
  }
  for (const f of r.failures as { analyzer: string; reason: string }[]) lines.push(`  analyzer ${f.analyzer} failed: ${f.reason}`);
  return lines.join('\n');
}

const scan: Command = {
  name: 'scan',
  summary: 'run the security gate on local package files, offline',
  usage: 'FILE... [--policy FILE] [--advisories PATH] [--fail-on warn|quarantine|block]',
  description:
    'Opens each file as the server would on upload, runs every analyzer and judges the findings by the default policy ' +
    '(or --policy, a YAML/JSON policy document). Known vulnerabilities and malware are matched against --advisories ' +
    '(OSV files, a folder or a zip), if given. Nothing is uploaded and no server or database is needed. Exits 1 when a ' +
    'file is not a valid package or reaches the --fail-on level (default: block), so CI pipelines can run it before publishing.',
  options: { policy: { type: 'string' }, advisories: { type: 'string' }, 'fail-on': { type: 'string' } },
  args: { min: 1, max: 10_000 },
  examples: ['stockade scan my-lib-1.2.0.tgz', 'stockade scan dist/*.tgz --fail-on quarantine --json', 'stockade scan pkg.tgz --advisories ./osv/npm.zip'],
  async run(ctx) {
    const failOn = (stringOption(ctx.options, 'fail-on') ?? 'block') as Level;
    if (!LEVELS.includes(failOn)) throw new UsageError('--fail-on must be warn, quarantine or block');
    const [{ detectFormat }, policyModule, { analyzers }, { createPopularNames }, lookupModule, { scanOffline }] = await Promise.all([
      import('../formats/list.js'),
      import('../security/policy.js'),
      import('../security/analyzers/list.js'),
      import('../security/popular.js'),
      import('../security/advisory-lookup.js'),
      import('../security/offline-scan.js'),
    ]);

    const policyFile = stringOption(ctx.options, 'policy');
    let policy = policyModule.DEFAULT_POLICY;
    if (policyFile !== undefined) {
      const document = readPolicyDocument(policyFile);
      policy = policyModule.parsePolicy(document);
    }

    const advisoriesPath = stringOption(ctx.options, 'advisories');
    const loaded = [];
    if (advisoriesPath !== undefined) {
      const { readAdvisories } = await import('../security/advisories/index.js');
      let rejected = 0;
      for await (const entry of readAdvisories(path.resolve(advisoriesPath))) {
        if (entry.advisory) loaded.push(entry.advisory);
        else if (entry.error) rejected++;
      }
      ctx.out.note(`loaded ${loaded.length} advisories from ${advisoriesPath}${rejected ? ` (${rejected} files rejected)` : ''}`);
    }
    const advisories = lookupModule.createMemoryAdvisoryLookup(loaded);
    const popular = createPopularNames();

    const results: FileResult[] = [];
    for (const file of ctx.args) {
      const result: FileResult = { file, verdict: 'error', reasons: [], findings: [], failures: [] };
      results.push(result);
      try {
        let data: Buffer;
        try {
          data = await readFile(file);
        } catch (error) {
          throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
        const filename = path.basename(file);
        const format = detectFormat(filename, data);
        const inspected = await format.inspect(data, filename);
        const { artifact, verdict } = await scanOffline(
          {
            artifact: { format: format.name, ecosystem: format.ecosystem, name: inspected.name, version: inspected.version, filename: inspected.filename, manifest: inspected.manifest },
            data,
            view: inspected.view,
          },
          { analyzers, advisories, popular, policy },
        );
        Object.assign(result, {
          format: format.name,
          name: artifact.name,
          version: artifact.version,
          sha256: artifact.sha256,
          verdict: verdict.action,
          reasons: verdict.reasons,
          findings: verdict.findings,
          failures: verdict.failures,
        });
      } catch (error) {
        if (!isStockadeError(error) && !(error instanceof UsageError)) throw error;
        result.error = { code: isStockadeError(error) ? error.code : 'USAGE', message: error.message };
      }
    }

    ctx.out.result(results, () => results.map(formatResult).join('\n\n'));
    const threshold = LEVELS.indexOf(failOn);
    const failed = results.some((r) => r.error !== undefined || LEVELS.indexOf(r.verdict as Level) >= threshold);
    return failed ? 1 : 0;
  },
};

export const scanCommands: Command[] = [scan];
