import { createHash } from 'node:crypto';
import type { GemRequirement } from './spec-yaml.js';

/**
 * The compact index bundler reads (`/versions`, `/info/NAME`, `/names`), in the line formats of
 * the compact_index reference implementation. Bundler checks each file against its ETag, the MD5
 * of the body, and each info file against the MD5 that `/versions` lists for it.
 */

export interface InfoVersion {
  /** `1.0.0` or `1.0.0-x86_64-linux`. */
  key: string;
  /** Runtime dependencies only: development dependencies never reach an installing client. */
  dependencies: { name: string; requirements: GemRequirement[] }[];
  sha256: string;
  requiredRubyVersion: GemRequirement[];
  requiredRubygemsVersion: GemRequirement[];
}

/** `>= 1.0&< 3`: one requirement's parts, joined as the compact index joins them. */
function requirementText(requirements: readonly GemRequirement[]): string {
  if (requirements.length === 0) return '>= 0';
  return requirements.map(([op, version]) => `${op} ${version}`).join('&');
}

function isDefault(requirements: readonly GemRequirement[]): boolean {
  return requirements.length === 0 || (requirements.length === 1 && requirements[0]?.[0] === '>=' && requirements[0][1] === '0');
}

/** One line of `/info/NAME`: `VERSION[-PLATFORM] DEP:REQ&REQ,…|checksum:SHA256[,ruby:REQ][,rubygems:REQ]`. */
export function infoLine(version: InfoVersion): string {
  const deps = version.dependencies.map((d) => `${d.name}:${requirementText(d.requirements)}`).join(',');
  let line = `${version.key} ${deps}|checksum:${version.sha256}`;
  if (!isDefault(version.requiredRubyVersion)) line += `,ruby:${requirementText(version.requiredRubyVersion)}`;
  if (!isDefault(version.requiredRubygemsVersion)) line += `,rubygems:${requirementText(version.requiredRubygemsVersion)}`;
  return line;
}

export function infoFile(versions: readonly InfoVersion[]): string {
  return `---\n${versions.map((v) => `${infoLine(v)}\n`).join('')}`;
}

/** `/versions`: a header, then `NAME V1,V2[-PLATFORM] MD5-OF-INFO` per gem. */
export function versionsFile(createdAt: string, gems: readonly { name: string; keys: readonly string[]; infoMd5: string }[]): string {
  const lines = gems.map((g) => `${g.name} ${g.keys.join(',')} ${g.infoMd5}\n`);
  return `created_at: ${createdAt}\n---\n${lines.join('')}`;
}

export function namesFile(names: readonly string[]): string {
  return `---\n${names.map((n) => `${n}\n`).join('')}`;
}

/** An index document with its ETag, the MD5 of the body (what bundler checks). */
export interface IndexDoc {
  body: Buffer;
  etag: string;
}

export function md5Hex(body: Buffer | string): string {
  return createHash('md5').update(body).digest('hex');
}

export function indexDoc(body: Buffer): IndexDoc {
  return { body, etag: `"${md5Hex(body)}"` };
}

/**
 * The MD5 that `/versions` lists for a gem whose info file this server filters: bundler skips
 * fetching `/info/NAME` when the listed MD5 equals its cached copy's, and no info file has this
 * MD5, so bundler always revalidates (a conditional request) and sees the current filtering.
 */
export const REVALIDATE_MD5 = '0'.repeat(32);
