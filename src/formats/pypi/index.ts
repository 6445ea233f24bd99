import { constants, gunzipSync } from 'node:zlib';
import type { Format } from '../format.js';
import { sdistFilenameCandidates } from './names.js';
import { comparePypiVersions, ECOSYSTEM, FORMAT, ingestDist, inspectDist } from './publish.js';
import { pypiRoutes } from './routes.js';

const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');

/** The sdist stems a file name can stand for, or none when it is not a `{name}-{version}` name. */
function sdistStems(filename: string): string[] {
  try {
    return sdistFilenameCandidates(filename).map((c) => c.stem.toLowerCase());
  } catch {
    return [];
  }
}

/**
 * The first member path of a gzip'd tar from its first bytes, or null. Extended headers (pax,
 * GNU long names) are skipped to the member they describe when it is within reach.
 */
function firstTarPath(head: Buffer): string | null {
  let tar: Buffer;
  try {
    // The head is a prefix of the stream: take what inflates, without wanting the end.
    tar = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    const type = String.fromCharCode(header[156] ?? 0);
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    if (!Number.isFinite(size)) return null;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      at += 512 + Math.ceil(size / 512) * 512;
      continue;
    }
    const field = (from: number, length: number) => header.subarray(from, from + length).toString('utf8').replace(/\0.*$/s, '');
    const name = field(0, 100);
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? field(345, 155) : '';
    return (prefix ? `${prefix}/${name}` : name).replace(/^\.\//, '');
  }
  return null;
}

/** twine and pip speak the Simple Repository API and the legacy upload API at `/{owner}/{repo}/pypi/`. */
export const pypiFormat: Format = {
  name: FORMAT,
  ecosystem: ECOSYSTEM,
  compareVersions: comparePypiVersions,
  routes: pypiRoutes,
  claims(filename, head) {
    const lower = filename.toLowerCase();
    if (lower.endsWith('.whl')) return head.subarray(0, 4).equals(ZIP_MAGIC);
    if (lower.endsWith('.zip')) return head.subarray(0, 4).equals(ZIP_MAGIC) && sdistStems(filename).length > 0;
    if (!lower.endsWith('.tar.gz') || head[0] !== 0x1f || head[1] !== 0x8b) return false;
    // npm packs under `package/`; an sdist has one top directory named like the file.
    const stems = sdistStems(filename);
    if (stems.length === 0) return false;
    const first = firstTarPath(head);
    const top = first?.split('/')[0]?.toLowerCase();
    return top !== undefined && top !== 'package' && stems.includes(top);
  },
  async inspect(data, filename) {
    const { name, version, manifest, view } = await inspectDist(data, filename);
    return { name, version, filename, manifest, view };
  },
  upload: (ctx, input) => ingestDist(ctx, { repo: input.repo, actor: input.actor, filename: input.filename, data: input.data }),
};
