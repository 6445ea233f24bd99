import { AdvisoryFormatError } from './osv.js';

/** Shared by the converters of foreign advisory formats into OSV. */

/** A converted record (raw OSV JSON, validated afterwards by `parseOsv`) and what was lost. */
export interface Converted {
  osv: Record<string, unknown>;
  warnings: string[];
}

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

export function bad(path: string, reason: string): never {
  throw new AdvisoryFormatError(path, reason);
}

/** A string field, or undefined when absent/null; a number is read as its decimal text. */
export function text(object: JsonObject, key: string, maxChars: number, options: { numbers?: boolean } = {}): string | undefined {
  const value = own(object, key);
  if (value === undefined || value === null) return undefined;
  if (options.numbers && typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') bad(key, `expected a string, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  if (value.length > maxChars) bad(key, `longer than ${maxChars} characters`);
  return value;
}

/** A list of strings, or [] when absent/null. */
export function textList(object: JsonObject, key: string, maxItems: number, maxChars: number, path = key): string[] {
  const value = own(object, key);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) bad(path, `expected a list, got ${typeof value}`);
  if (value.length > maxItems) bad(path, `more than ${maxItems} entries`);
  return value.map((item, i) => {
    if (typeof item === 'number' && Number.isFinite(item)) return String(item);
    if (typeof item !== 'string') bad(`${path}[${i}]`, `expected a string, got ${typeof item}`);
    if (item.length > maxChars) bad(`${path}[${i}]`, `longer than ${maxChars} characters`);
    return item;
  });
}

/** A number field given as a number or numeric text (YAML is read without implicit numbers). */
export function numberField(object: JsonObject, key: string): number | undefined {
  const value = own(object, key);
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n)) bad(key, 'expected a number');
  return n;
}

/** `2018-02-17` → `2018-02-17T00:00:00Z`; full timestamps are passed through to UTC. */
export function dateToTimestamp(value: string, path: string): string {
  const trimmed = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) return `${trimmed}T00:00:00Z`;
  if (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  bad(path, `${JSON.stringify(trimmed.slice(0, 40))} is not a date`);
}
