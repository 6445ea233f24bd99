import { StockadeError } from '../errors.js';
import type { Format } from './format.js';
import { debianFormat } from './debian/index.js';
import { npmFormat } from './npm/index.js';
import { pypiFormat } from './pypi/index.js';
import { rpmFormat } from './rpm/index.js';
import { rubygemsFormat } from './rubygems/index.js';

// pypi comes before npm: both see .tar.gz files, and pypi claims only real sdists.
/** Every format Stockade serves. One line per format; nothing registers itself by import. */
export const formats: readonly Format[] = [pypiFormat, npmFormat, debianFormat, rpmFormat, rubygemsFormat];

export function findFormat(name: string): Format | undefined {
  return formats.find((f) => f.name === name);
}

/** How much of a file format detection looks at (magic numbers, tar headers). */
const HEAD_BYTES = 4096;

/** The format that claims a file by its name and first bytes; UNSUPPORTED_FORMAT when none does. */
export function detectFormat(filename: string, data: Buffer): Format {
  const head = data.subarray(0, HEAD_BYTES);
  const format = formats.find((f) => f.claims(filename, head));
  if (!format) throw new StockadeError('UNSUPPORTED_FORMAT', [filename]);
  return format;
}
