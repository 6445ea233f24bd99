import type { Actor } from '../domain/audit.js';
import type { PackageRef } from '../domain/packages.js';
import type { RepoInfo } from '../domain/repos.js';
import type { ServerContext } from '../http/context.js';
import { gateRecordOf } from '../security/service.js';
import type { ArtifactInfo, ContentView } from '../security/types.js';
import type { UploadResult } from './format.js';

/** The answer for an upload of a file stored before: its version's state, not a new verdict. */
export function storedResult(base: Omit<UploadResult, 'verdict' | 'reasons'>, state: { quarantined: boolean; reasons: readonly string[] }): UploadResult {
  return { ...base, verdict: state.quarantined ? 'quarantine' : state.reasons.length > 0 ? 'warn' : 'allow', reasons: [...state.reasons] };
}

/**
 * Lists a stored OS package file in one more distribution (APT distribution, RPM release). OS
 * advisories differ per release, so the gate judges the file for every distribution it will be
 * in; a block refuses the listing, any other verdict becomes its version's verdict.
 */
export async function listInAnotherDistribution(
  ctx: ServerContext,
  input: {
    repo: RepoInfo;
    actor: Actor;
    ref: PackageRef;
    version: string;
    compare: (a: string, b: string) => number;
    /** The new distribution, and every one the file will be listed in. */
    dist: string;
    dists: readonly string[];
    artifact: ArtifactInfo;
    view: ContentView;
    addEntry: () => Promise<void>;
  },
): Promise<{ quarantined: boolean; reasons: string[] }> {
  const manifest = { ...input.artifact.manifest, dist: input.dists[0], dists: [...input.dists] };
  const verdict = await ctx.gate.admit(input.actor, input.repo, { artifact: { ...input.artifact, manifest }, view: input.view });
  await input.addEntry();
  // regate announces the change, which brings the indexes up to date.
  await ctx.domain.packages.regate(input.actor, input.ref, { version: input.version, gate: gateRecordOf(verdict), compare: input.compare, why: `listed in ${input.dist}` });
  // An approval of the earlier findings can keep the version published.
  const quarantined = (await ctx.domain.packages.findFile(input.ref, input.artifact.filename))?.status === 'quarantined';
  return { quarantined, reasons: verdict.reasons };
}
