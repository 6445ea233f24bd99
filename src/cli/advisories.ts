import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Domain } from '../domain/index.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import { arg, type Command, stringOption, UsageError } from './command.js';
import { cliActor, requireRepo, withServices } from './services.js';

/** Largest advisory archive `sync` downloads. */
const MAX_SYNC_BYTES = 2 * 1024 * 1024 * 1024;

interface ImportSummary {
  source: string;
  files: number;
  added: number;
  updated: number;
  unchanged: number;
  errors: { source: string; error: string }[];
  skipped: { source: string; why: string }[];
  rescan: { checked: number; changed: number; quarantined: number; failed: number };
}

async function importAndRescan(services: { domain: Domain; blobs: BlobStore }, file: string, label: string): Promise<ImportSummary> {
  const [{ readAdvisories }, { importAdvisories }, { createServerGate }, { rescanPackages }] = await Promise.all([
    import('../security/advisories/index.js'),
    import('../security/advisory-import.js'),
    import('../security/service.js'),
    import('../server/rescan.js'),
  ]);
  const report = await importAdvisories(services.domain, readAdvisories(file), label);
  const gate = createServerGate(services.domain);
  const rescan = await rescanPackages({ ...services, gate }, report.touched, { why: `advisories imported from ${label}`, actor: cliActor() });
  return { source: label, files: report.files, added: report.added, updated: report.updated, unchanged: report.unchanged, errors: report.errors, skipped: report.skipped, rescan };
}

function describeSummary(s: ImportSummary): string {
  const lines = [
    `read ${s.files} files from ${s.source}: ${s.added} advisories added, ${s.updated} updated, ${s.unchanged} unchanged, ${s.errors.length} rejected`,
    `rescanned ${s.rescan.checked} stored versions: ${s.rescan.changed} changed, ${s.rescan.quarantined} newly quarantined${s.rescan.failed ? `, ${s.rescan.failed} unreadable` : ''}`,
  ];
  for (const k of s.skipped.slice(0, 5)) lines.push(`  skipped ${k.source}: ${k.why}`);
  for (const e of s.errors.slice(0, 20)) lines.push(`  rejected ${e.source}: ${e.error}`);
  if (s.errors.length > 20) lines.push(`  … and ${s.errors.length - 20} more`);
  return lines.join('\n');
}

const advisoriesImport: Command = {
  name: 'advisories import',
  summary: 'import OSV advisories (JSON/YAML files, folders, zips) and rescan affected packages',
  usage: 'PATH',
  description:
    'Reads OSV records (and Node.js security WG JSON or rubysec YAML, converted) from a file, a folder (recursively) or a zip. ' +
    'A malformed file is reported and skipped. Stored versions of every package whose advisories changed are re-evaluated: ' +
    'a version that becomes known malware is quarantined and disappears from indexes.',
  args: { min: 1, max: 1 },
  examples: ['stockade advisories import ./osv/npm.zip', 'stockade advisories import ./advisory-database/vulns --json'],
  async run(ctx) {
    const file = path.resolve(arg(ctx, 0));
    const summary = await withServices(ctx.configFile, ctx.env, (services) => importAndRescan(services, file, arg(ctx, 0)));
    ctx.out.result(summary, () => describeSummary(summary));
    return 0;
  },
};

const advisoriesSync: Command = {
  name: 'advisories sync',
  summary: 'download an OSV zip from a URL and import it',
  usage: '[URL]',
  description:
    'Fetches the zip at URL, or at `advisories.syncUrl` from the configuration, and imports it like `advisories import`. ' +
    'Nothing is ever fetched unless a URL is given or configured.',
  options: { url: { type: 'string' } },
  args: { min: 0, max: 1 },
  examples: ['stockade advisories sync https://mirror.example/osv/npm/all.zip'],
  async run(ctx) {
    const summary = await withServices(ctx.configFile, ctx.env, async (services) => {
      const url = ctx.args[0] ?? stringOption(ctx.options, 'url') ?? services.config.advisories.syncUrl;
      if (!url) throw new UsageError('no URL given and advisories.syncUrl is not configured: nothing is fetched unless configured');
      if (!/^https?:\/\//i.test(url)) throw new UsageError(`${url} is not an http(s) URL`);
      const dir = await mkdtemp(path.join(tmpdir(), 'stockade-advisories-'));
      try {
        const file = path.join(dir, 'advisories.zip');
        const response = await fetch(url, { redirect: 'follow' });
        if (!response.ok || !response.body) throw new UsageError(`GET ${url} answered ${response.status} ${response.statusText}`);
        let received = 0;
        const limit = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            received += chunk.length;
            done(received > MAX_SYNC_BYTES ? new Error(`${url} is larger than ${MAX_SYNC_BYTES} bytes`) : null, chunk);
          },
        });
        await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), limit, createWriteStream(file));
        return await importAndRescan(services, file, url);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
    ctx.out.result(summary, () => describeSummary(summary));
    return 0;
  },
};

const rescan: Command = {
  name: 'rescan',
  summary: 're-evaluate stored packages with the current analyzers, advisories and policies',
  usage: '[owner/repo]',
  description:
    'Runs the gate again over every stored version (of one repository, or all): after an upgrade that changed analyzer ' +
    'versions, or a policy change. Cached results of unchanged analyzers are reused. A version the gate would now ' +
    'quarantine or block is quarantined and leaves the indexes; every change is recorded in the audit log.',
  args: { min: 0, max: 1 },
  examples: ['stockade rescan', 'stockade rescan acme/web --json'],
  async run(ctx) {
    const tally = await withServices(ctx.configFile, ctx.env, async (services) => {
      const [{ createServerGate }, { allPackageKeys, rescanPackages }] = await Promise.all([import('../security/service.js'), import('../server/rescan.js')]);
      const repos = ctx.args[0] === undefined ? undefined : [await requireRepo(services.domain, ctx.args[0])];
      const touched = await allPackageKeys(services.domain, repos?.map((r) => r.id));
      const gate = createServerGate(services.domain, { timeoutMs: services.config.gate.analyzerTimeoutMs });
      return rescanPackages({ ...services, gate }, touched, { why: 'stockade rescan', actor: cliActor(), ...(repos ? { repoIds: repos.map((r) => r.id) } : {}) });
    });
    ctx.out.result(tally, () => `rescanned ${tally.checked} stored versions: ${tally.changed} changed, ${tally.quarantined} newly quarantined${tally.failed ? `, ${tally.failed} unreadable` : ''}`);
    return 0;
  },
};

export const advisoryCommands: Command[] = [advisoriesImport, advisoriesSync, rescan];
