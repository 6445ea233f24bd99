import { hash } from 'node:crypto';
import { scanArtifact, type ScanReport } from './gate.js';
import { createJudge, DEFAULT_POLICY, type Policy, type Verdict } from './policy.js';
import type { AdvisoryLookup, Analyzer, ArtifactInfo, ContentView, PopularNames } from './types.js';

export interface OfflineScanInput {
  artifact: Omit<ArtifactInfo, 'sha256' | 'digests' | 'size'>;
  data: Buffer;
  view: ContentView;
}

export interface OfflineScanOptions {
  analyzers: readonly Analyzer[];
  advisories: AdvisoryLookup;
  popular: PopularNames;
  policy?: Policy;
  timeoutMs?: number;
}

/**
 * The gate without a server: the same analyzers and policy evaluation an upload gets, minus what
 * only a server knows (the owner's other packages, cached results, exceptions).
 */
export async function scanOffline(input: OfflineScanInput, options: OfflineScanOptions): Promise<{ artifact: ArtifactInfo; report: ScanReport; verdict: Verdict }> {
  const artifact: ArtifactInfo = {
    ...input.artifact,
    sha256: hash('sha256', input.data, 'hex'),
    digests: { sha512: hash('sha512', input.data, 'hex'), sha1: hash('sha1', input.data, 'hex') },
    size: input.data.length,
  };
  const report = await scanArtifact(
    input.view,
    { artifact, advisories: options.advisories, popular: options.popular, ownerNames: async () => new Set<string>() },
    { analyzers: options.analyzers, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) },
  );
  const verdict = createJudge(options.policy ?? DEFAULT_POLICY)({ name: artifact.name, version: artifact.version, findings: report.findings, failures: report.failures });
  return { artifact, report, verdict };
}
