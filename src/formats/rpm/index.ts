import type { Format } from '../format.js';
import { compareVersionKeys, ECOSYSTEM, FORMAT, ingestRpm, inspectRpm, stageRpm } from './publish.js';
import { rpmRoutes } from './routes.js';

const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);

/** dnf and yum read rpm-md repositories at `/{owner}/{repo}/rpm/{distro}/{release}/`; .rpm files arrive through the REST API. */
export const rpmFormat: Format = {
  name: FORMAT,
  ecosystem: ECOSYSTEM,
  // Stored versions are `[epoch:]version-release.arch`.
  compareVersions: compareVersionKeys,
  routes: rpmRoutes,
  claims(filename, head) {
    return /\.rpm$/i.test(filename) && head.subarray(0, 4).equals(LEAD_MAGIC);
  },
  async inspect(data, _filename, target) {
    const { name, version, filename, manifest, view } = await inspectRpm(data, target?.listedIn ?? (target?.distribution === undefined ? [] : [target.distribution]));
    return { name, version, filename, manifest, view };
  },
  upload: (ctx, input) => ingestRpm(ctx, { repo: input.repo, actor: input.actor, data: input.data, ...(input.target ? { target: input.target } : {}) }),
  stage: (ctx, input) => stageRpm(ctx, { repo: input.repo, actor: input.actor, data: input.data, ...(input.target ? { target: input.target } : {}) }),
};
