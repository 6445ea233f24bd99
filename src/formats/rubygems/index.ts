import type { Format } from '../format.js';
import { compareVersionKeys, ECOSYSTEM, FORMAT, ingestGem, inspectGem } from './publish.js';
import { rubygemsRoutes } from './routes.js';

/** The 512-byte tar header's name field starts the archive; ustar magic sits at offset 257. */
function isGemTar(head: Buffer): boolean {
  if (head.length < 512) return false;
  const magic = head.subarray(257, 262).toString('latin1');
  if (magic !== 'ustar') return false;
  const name = head.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
  return ['metadata.gz', 'data.tar.gz', 'checksums.yaml.gz', 'metadata.gz.sig'].includes(name);
}

/** gem and bundler read `/{owner}/{repo}/rubygems/`; gem push --host posts there too. */
export const rubygemsFormat: Format = {
  name: FORMAT,
  ecosystem: ECOSYSTEM,
  // Stored versions are `version[-platform]`.
  compareVersions: compareVersionKeys,
  routes: rubygemsRoutes,
  claims(filename, head) {
    return /\.gem$/i.test(filename) && isGemTar(head);
  },
  async inspect(data) {
    const { name, version, filename, manifest, view } = await inspectGem(data);
    return { name, version, filename, manifest, view };
  },
  async upload(ctx, input) {
    const { existing: _existing, ...result } = await ingestGem(ctx, { repo: input.repo, actor: input.actor, data: input.data });
    return result;
  },
};
