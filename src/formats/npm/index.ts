import type { Format } from '../format.js';
import { compareNpmVersions } from './packument.js';
import { tarballFileName } from './names.js';
import { FORMAT, ingestTarball, inspectTarball } from './publish.js';
import { npmRoutes } from './routes.js';

/** npm 11, pnpm and yarn speak the npm registry protocol at `/{owner}/{repo}/npm/`. */
export const npmFormat: Format = {
  name: FORMAT,
  ecosystem: 'npm',
  compareVersions: compareNpmVersions,
  routes: npmRoutes,
  claims(filename, head) {
    return /\.(tgz|tar\.gz)$/i.test(filename) && head[0] === 0x1f && head[1] === 0x8b;
  },
  async inspect(data) {
    const { name, version, manifest, view } = inspectTarball(data);
    return { name, version, filename: tarballFileName(name, version), manifest, view };
  },
  async upload(ctx, input) {
    const result = await ingestTarball(ctx, {
      repo: input.repo,
      actor: input.actor,
      data: input.data,
      distTags: {},
      ...(input.tag ? { tagForVersion: input.tag } : {}),
    });
    return { format: FORMAT, name: result.name, version: result.version, filename: result.filename, sha256: result.digests.sha256, size: result.digests.size, verdict: result.verdict.action as 'allow' | 'warn' | 'quarantine', reasons: result.verdict.reasons };
  },
};
