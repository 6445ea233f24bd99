import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Leaf = { path: string[]; env: string };

/** Every leaf key of the schema, with the environment variable that overrides it (server.publicUrl → STOCKADE_SERVER_PUBLIC_URL). */
export function configLeaves(): Leaf[] {
  const leaves: Leaf[] = [];
  const seen = new Set<string>();
  const walk = (schema: z.ZodTypeAny, at: string[]): void => {
    let inner = schema;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodNullable || inner instanceof z.ZodOptional) {
      inner = inner instanceof z.ZodDefault ? inner._def.innerType : inner.unwrap();
    }
    if (inner instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodTypeAny>)) walk(child, [...at, key]);
      return;
    }
    if (inner instanceof z.ZodDiscriminatedUnion) {
      for (const option of inner.options as z.ZodTypeAny[]) walk(option, at);
      return;
    }
    const env = 'STOCKADE_' + at.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
    if (!seen.has(env)) {
      seen.add(env);
      leaves.push({ path: at, env });
    }
  };
  walk(configSchema, []);
  return leaves;
}

function parseEnvValue(raw: string): unknown {
  // Numbers, booleans and null are written the JSON way; everything else is a string.
  if (/^(true|false|null|-?\d+(\.\d+)?)$/.test(raw)) return JSON.parse(raw);
  return raw;
}

function setPath(target: Record<string, unknown>, at: string[], value: unknown): void {
  let node = target;
  for (const key of at.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[at[at.length - 1] as string] = value;
}

function describeIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length ? `${key}.` : '';
      return `unknown key ${issue.keys.map((k) => `"${where}${k}"`).join(', ')}`;
    }
    return `"${key}": ${issue.message}`;
  });
  return `invalid configuration (${source}):\n  - ${lines.join('\n  - ')}`;
}

/** Validates a raw config object (from YAML or a test) and fills the defaults. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(describeIssues(result.error, source));
  return result.data;
}

export interface LoadConfigOptions {
  /** Path of a YAML file; falls back to STOCKADE_CONFIG, then ./stockade.yaml if it exists. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Reads the YAML file, applies STOCKADE_* environment overrides and validates the result. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let file = options.file ?? env.STOCKADE_CONFIG;
  let raw: Record<string, unknown> = {};
  if (!file) {
    const fallback = path.resolve(cwd, 'stockade.yaml');
    try {
      readFileSync(fallback);
      file = fallback;
    } catch {
      file = undefined;
    }
  }
  if (file) {
    let text: string;
    try {
      text = readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (error) {
      throw new ConfigError(`configuration file ${file} is not valid YAML: ${(error as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`configuration file ${file} must contain a mapping of keys`);
    }
    raw = (parsed ?? {}) as Record<string, unknown>;
  }
  for (const leaf of configLeaves()) {
    const value = env[leaf.env];
    if (value !== undefined && value !== '') setPath(raw, leaf.path, parseEnvValue(value));
  }
  const config = parseConfig(raw, file ? `file ${file} with environment overrides` : 'environment');
  return resolvePaths(config, cwd);
}

/** Makes the data folder and the paths below it absolute. */
export function resolvePaths(config: Config, cwd = process.cwd()): Config {
  const dataDir = path.resolve(cwd, config.dataDir);
  const database =
    config.database.dialect === 'sqlite'
      ? { ...config.database, path: path.resolve(dataDir, config.database.path) }
      : config.database;
  return { ...config, dataDir, database, blobs: { ...config.blobs, root: path.resolve(dataDir, config.blobs.root) } };
}
