import type { Format } from '../format.js';
import { compareVersionKeys, FORMAT, ingestDeb, inspectDeb, stageDeb } from './publish.js';
import { debianRoutes } from './routes.js';

/** apt-get reads an APT repository at `/{owner}/{repo}/debian/`; .deb files arrive through the REST API. */
export const debianFormat: Format = {
  name: FORMAT,
  ecosystem: 'Debian',
  // Stored versions are `<version>_<arch>`.
  compareVersions: compareVersionKeys,
  routes: debianRoutes,
  claims(filename, head) {
    return /\.deb$/i.test(filename) && head.subarray(0, 8).toString('latin1') === '!<arch>\n';
  },
  async inspect(data, _filename, target) {
    const { name, version, filename, manifest, view } = await inspectDeb(data, target?.listedIn ?? (target?.distribution === undefined ? [] : [target.distribution]));
    return { name, version, filename, manifest, view };
  },
  upload: (ctx, input) => ingestDeb(ctx, { repo: input.repo, actor: input.actor, data: input.data, ...(input.target ? { target: input.target } : {}) }),
  stage: (ctx, input) => stageDeb(ctx, { repo: input.repo, actor: input.actor, data: input.data, ...(input.target ? { target: input.target } : {}) }),
};
