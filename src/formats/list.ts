import type { Format } from './format.js';
import { npmFormat } from './npm/index.js';

/** Every format Stockade serves. One line per format; nothing registers itself by import. */
export const formats: readonly Format[] = [npmFormat];

export function findFormat(name: string): Format | undefined {
  return formats.find((f) => f.name === name);
}
