import { systemActor, type Actor } from '../domain/audit.js';
import type { Domain } from '../domain/index.js';
import type { RepoInfo } from '../domain/repos.js';
import { formats } from '../formats/list.js';
import { parseSourceRpm } from '../formats/rpm/gate-manifest.js';
import { debianSource, osvBasesFor } from '../security/os-ecosystems.js';
import type { SecurityGate } from '../security/service.js';
import { gateRecordOf } from '../security/service.js';
import { combineVerdicts, type Verdict } from '../security/policy.js';
import type { BlobStore } from '../store/blobs/blob-store.js';

export interface RescanTally {
  /** Stored versions re-evaluated. */
  checked: number;
  /** Versions whose verdict or findings changed. */
  changed: number;
  /** Versions newly hidden (quarantined) by the rescan. */
  quarantined: number;
  /** Versions that could not be read back (missing blob, unreadable archive). */
  failed: number;
}

const MAX_RESCAN_BYTES = 512 * 1024 * 1024;

/**
 * Re-evaluates stored versions of the named packages after advisories changed: only those names
 * are touched, so an import of a few records costs a few packages, not the whole store. Content
 * analyzers answer from their cache; the advisory-backed ones run again. A version whose new
 * verdict is quarantine or block is quarantined (stored artifacts are never deleted by a rescan)
 * and disappears from indexes; the audit log records why.
 */
export async function rescanPackages(
  deps: { domain: Domain; blobs: BlobStore; gate: SecurityGate },
  touched: Iterable<string>,
  options: {
    why: string;
    actor?: Actor;
    /** Only versions in these repositories. */
    repoIds?: number[];
    /** Stops between versions (server shutdown); what was done stays done. */
    signal?: AbortSignal;
  },
): Promise<RescanTally> {
  const tally: RescanTally = { checked: 0, changed: 0, quarantined: 0, failed: 0 };
  const byEcosystem = new Map<string, Set<string>>();
  for (const key of touched) {
    const [ecosystem, name] = key.split('\0') as [string, string];
    const names = byEcosystem.get(ecosystem) ?? new Set<string>();
    names.add(name);
    byEcosystem.set(ecosystem, names);
  }
  const repos = new Map<number, RepoInfo | null>();
  const ownerNames = new Map<string, string[]>();
  for (const format of formats) {
    // OS advisories come from each distribution's own ecosystem (AlmaLinux, Debian, …).
    const names = new Set([format.ecosystem, ...osvBasesFor(format.name)].flatMap((ecosystem) => [...(byEcosystem.get(ecosystem) ?? [])]));
    if (names.size === 0) continue;
    const list = [...names];
    for (let start = 0; start < list.length; start += 500) {
      const rows = await deps.domain.packages.versionsNamed(format.name, list.slice(start, start + 500));
      // OS advisories name source packages: `openssl` covers the binaries `libssl3` and `openssl-libs`.
      if (osvBasesFor(format.name).length > 0 && start === 0) {
        const named = new Set(rows.map((row) => row.version_id));
        for (const row of await deps.domain.packages.versionsNamed(format.name)) {
          const source = sourceNameOf(format.name, row.metadata);
          if (source !== undefined && names.has(source) && !named.has(row.version_id)) rows.push(row);
        }
      }
      // A version of several files (PyPI: an sdist and wheels) is judged by all of them at once.
      const byVersion = new Map<number, typeof rows>();
      for (const row of rows) byVersion.set(row.version_id, [...(byVersion.get(row.version_id) ?? []), row]);
      for (const files of byVersion.values()) {
        const row = files[0] as (typeof rows)[number];
        if (options.signal?.aborted) return tally;
        if (options.repoIds && !options.repoIds.includes(row.repo_id)) continue;
        tally.checked++;
        // One lookup per repository and owner, not per version.
        if (!repos.has(row.repo_id)) repos.set(row.repo_id, await deps.domain.repos.getById(row.repo_id));
        const repo = repos.get(row.repo_id);
        if (!repo) continue;
        const ownerKey = `${repo.ownerId}:${format.name}`;
        if (!ownerNames.has(ownerKey)) ownerNames.set(ownerKey, await deps.domain.packages.namesOfOwner(repo.ownerId, format.name));
        const verdicts: Verdict[] = [];
        for (const file of files) {
          let inspected;
          try {
            if (file.size > MAX_RESCAN_BYTES) throw new Error('too large to rescan in memory');
            const dists = await listedIn(deps.domain, format.name, file.version_id, file.metadata);
            inspected = await format.inspect(await deps.blobs.read(file.sha256), file.filename, dists.length === 0 ? undefined : { distribution: dists[0] as string, listedIn: dists });
          } catch {
            break;
          }
          const { verdict } = await deps.gate.evaluate(repo, {
            artifact: {
              format: format.name,
              ecosystem: format.ecosystem,
              name: file.name,
              version: file.version,
              filename: file.filename,
              sha256: file.sha256,
              size: file.size,
              manifest: inspected.manifest,
            },
            view: inspected.view,
            ownerNames: ownerNames.get(ownerKey) as string[],
          });
          verdicts.push(verdict);
        }
        // A version judged on only some of its files is left as it was.
        if (verdicts.length < files.length) {
          tally.failed++;
          continue;
        }
        const record = gateRecordOf(combineVerdicts(verdicts));
        // A stored artifact is never deleted by a rescan: what policy would block is held instead.
        if (record.verdict === 'block') {
          record.status = 'quarantined';
        }
        const changed = await deps.domain.packages.regate(options.actor ?? systemActor, { repo, format: format.name, name: row.name }, {
          version: row.version,
          gate: record,
          compare: format.compareVersions,
          why: options.why,
        });
        if (changed) {
          tally.changed++;
          if (row.status === 'published' && record.status === 'quarantined') tally.quarantined++;
        }
      }
    }
  }
  return tally;
}

function metadataOf(stored: unknown): Record<string, unknown> {
  try {
    const value: unknown = typeof stored === 'string' ? JSON.parse(stored) : stored;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Every distribution a stored OS package version is listed in; its first upload's when unlisted. */
async function listedIn(domain: Domain, format: string, versionId: number, metadata: string): Promise<string[]> {
  const dists = format === 'debian' ? await domain.apt.distsOf(versionId) : format === 'rpm' ? await domain.rpm.distsOf(versionId) : [];
  if (dists.length > 0) return dists;
  const dist = metadataOf(metadata).dist;
  return typeof dist === 'string' ? [dist] : [];
}

/** The source package of a stored OS package version, from what its format recorded at upload. */
function sourceNameOf(format: string, metadata: string): string | undefined {
  const stored = metadataOf(metadata);
  if (format === 'debian' && typeof stored.control === 'object' && stored.control !== null) return debianSource(stored.control as Record<string, unknown>)?.name;
  if (format === 'rpm' && typeof stored.sourceRpm === 'string') return parseSourceRpm(stored.sourceRpm)?.name;
  return undefined;
}

/** Every stored package of every repository (or of some), as rescan keys. */
export async function allPackageKeys(domain: Domain, repoIds?: number[]): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const repo of await domain.repos.list({})) {
    if (repoIds && !repoIds.includes(repo.id)) continue;
    for (const row of await domain.packages.listAllNames(repo)) {
      const format = formats.find((f) => f.name === row.format);
      if (format) keys.add(`${format.ecosystem}\0${row.name}`);
    }
  }
  return keys;
}

/** `malware@1,secrets@1,…`: which analyzers (and versions) evaluated the stored packages. */
export function analyzerSetOf(gate: SecurityGate): string {
  return gate.analyzers.map((a) => `${a.id}@${a.version}`).sort().join(',');
}
