import { compareDpkgVersions } from '../../security/versions/dpkg.js';
import type { Format } from '../format.js';
import { FORMAT, ingestDeb, inspectDeb } from './publish.js';
import { debianRoutes } from './routes.js';

/** apt-get reads an APT repository at `/{owner}/{repo}/debian/`; .deb files arrive through the REST API. */
export const debianFormat: Format = {
  name: FORMAT,
  ecosystem: 'Debian',
  // Stored versions are `<version>_<arch>`; the architecture never decides the order.
  compareVersions: (a, b) => compareDpkgVersions(a.replace(/_[^_]*$/, ''), b.replace(/_[^_]*$/, '')),
  routes: debianRoutes,
  claims(filename, head) {
    return /\.deb$/i.test(filename) && head.subarray(0, 8).toString('latin1') === '!<arch>\n';
  },
  async inspect(data, _filename, target) {
    const { name, version, filename, manifest, view } = await inspectDeb(data, target?.distribution);
    return { name, version, filename, manifest, view };
  },
  upload: (ctx, input) => ingestDeb(ctx, { repo: input.repo, actor: input.actor, data: input.data, ...(input.target ? { target: input.target } : {}) }),
};
