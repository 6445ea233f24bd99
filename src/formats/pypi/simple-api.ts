import type { StoredFile, StoredPackage, StoredVersion } from '../../domain/packages.js';
import { comparePypiVersions, type PypiVersionRecord } from './publish.js';

/**
 * The Simple Repository API: HTML (PEP 503) and JSON (PEP 691), with core metadata files
 * (PEP 658/714), yanks (PEP 592) and `versions`/`size`/`upload-time` (PEP 700, API 1.1).
 * File URLs are relative to the page, so they work behind any proxy and keep the credentials
 * pip used for the page.
 */

export const API_VERSION = '1.1';
export const JSON_V1 = 'application/vnd.pypi.simple.v1+json';
export const HTML_V1 = 'application/vnd.pypi.simple.v1+html';
export const TEXT_HTML = 'text/html';

export type SimpleContentType = typeof JSON_V1 | typeof HTML_V1 | typeof TEXT_HTML;

/** Media types the client may name, and the one each is answered with. */
const SERVED: Record<string, SimpleContentType> = {
  [JSON_V1]: JSON_V1,
  'application/vnd.pypi.simple.latest+json': JSON_V1,
  [HTML_V1]: HTML_V1,
  'application/vnd.pypi.simple.latest+html': HTML_V1,
  [TEXT_HTML]: TEXT_HTML,
};
// Among equal q-values the server picks: JSON first, as PyPI does.
const PREFERENCE: SimpleContentType[] = [JSON_V1, HTML_V1, TEXT_HTML];

/**
 * PEP 691 content negotiation over `Accept` (pip 23 sends JSON first, the HTML types with lower
 * q), or the `?format=` query parameter, which wins. No Accept, wildcards, or nothing we serve:
 * the plain HTML every installer understands.
 */
export function negotiate(accept: string | undefined, formatParam: string | undefined): SimpleContentType {
  if (formatParam !== undefined) {
    const chosen = SERVED[formatParam.trim().toLowerCase()];
    if (chosen) return chosen;
  }
  if (!accept) return TEXT_HTML;
  let best: { type: SimpleContentType; q: number } | null = null;
  for (const item of accept.slice(0, 2048).split(',')) {
    const [rawType, ...params] = item.split(';');
    const type = SERVED[(rawType ?? '').trim().toLowerCase()];
    if (!type) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=');
      if (key?.trim().toLowerCase() === 'q') q = Number(value?.trim() ?? '1');
    }
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q || (q === best.q && PREFERENCE.indexOf(type) < PREFERENCE.indexOf(best.type))) best = { type, q };
  }
  return best?.type ?? TEXT_HTML;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function page(title: string, links: string[], apiVersion = API_VERSION): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    `    <meta name="pypi:repository-version" content="${apiVersion}">`,
    `    <title>${escapeHtml(title)}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>${escapeHtml(title)}</h1>`,
    ...links.map((link) => `    ${link}<br>`),
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

/** The root page: every project with a visible version. */
export function renderIndex(names: readonly string[], type: SimpleContentType): string {
  if (type === JSON_V1) return JSON.stringify({ meta: { 'api-version': API_VERSION }, projects: names.map((name) => ({ name })) });
  return page('Simple index', names.map((name) => `<a href="${encodeURIComponent(name)}/">${escapeHtml(name)}</a>`));
}

export interface SimpleFile {
  filename: string;
  /** Relative to the project page. */
  url: string;
  /** Absent only for an upstream file whose index gave no sha256 (its download is refused). */
  sha256?: string;
  /** PEP 700 makes it mandatory; a page with a file of unknown size is served as API 1.0. */
  size?: number;
  uploadTime?: string;
  requiresPython?: string;
  coreMetadataSha256?: string;
  /** false, or the reason ('' when none was given). */
  yanked: false | string;
}

/** One project's page, whatever it was built from (a stored package, an upstream page). */
export interface ProjectPage {
  name: string;
  /** PEP 440 order, oldest first. */
  versions: string[];
  files: SimpleFile[];
}

/** PEP 700: `yyyy-mm-ddThh:mm:ss.ffffffZ`. */
export function uploadTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Where a project page links a file: the repository's own `files/`, relative to the page. */
export function fileUrl(name: string, filename: string): string {
  return `../../files/${encodeURIComponent(name)}/${encodeURIComponent(filename)}`;
}

/** A stored file as the page lists it, with what its version record says about it. */
export function storedSimpleFile(name: string, version: StoredVersion, file: StoredFile): SimpleFile {
  const record = version.metadata as Partial<PypiVersionRecord>;
  const entry = record.files?.[file.filename];
  const item: SimpleFile = {
    filename: file.filename,
    url: fileUrl(name, file.filename),
    sha256: file.sha256,
    size: file.size,
    uploadTime: uploadTime(entry?.uploadedAt ?? version.createdAt),
    yanked: version.yanked === null ? false : version.yanked.reason,
  };
  if (entry?.requiresPython !== undefined) item.requiresPython = entry.requiresPython;
  if (entry?.coreMetadataSha256 !== undefined && record.coreMetadata?.[entry.coreMetadataSha256]) item.coreMetadataSha256 = entry.coreMetadataSha256;
  return item;
}

const byFilename = (a: { filename: string }, b: { filename: string }) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0);

/** Visible versions in PEP 440 order with their files, oldest first. */
export function projectFiles(pkg: StoredPackage): ProjectPage {
  const versions = [...pkg.versions].sort((a, b) => comparePypiVersions(a.version, b.version));
  const files: SimpleFile[] = [];
  for (const version of versions) {
    for (const file of [...version.files].sort(byFilename)) files.push(storedSimpleFile(pkg.name, version, file));
  }
  return { name: pkg.name, versions: versions.map((v) => v.version), files };
}

/** One stored project's page. */
export function renderProject(pkg: StoredPackage, type: SimpleContentType): string {
  return renderProjectPage(projectFiles(pkg), type);
}

/** A project page in the negotiated type; API 1.1 (PEP 700) when every file's size is known. */
export function renderProjectPage(project: ProjectPage, type: SimpleContentType): string {
  const { name, versions, files } = project;
  const apiVersion = files.every((f) => f.size !== undefined) ? API_VERSION : '1.0';
  if (type === JSON_V1) {
    return JSON.stringify({
      meta: { 'api-version': apiVersion },
      name,
      ...(apiVersion === API_VERSION ? { versions } : {}),
      files: files.map((f) => {
        const core = f.coreMetadataSha256 ? { sha256: f.coreMetadataSha256 } : false;
        return {
          filename: f.filename,
          url: f.url,
          hashes: f.sha256 ? { sha256: f.sha256 } : {},
          ...(f.requiresPython !== undefined ? { 'requires-python': f.requiresPython } : {}),
          // PEP 714: only the new name in JSON. pip before 23.3 reads `dist-info-metadata` as a
          // string and fails on the object PEP 691 specified, so that key is left out.
          'core-metadata': core,
          // PEP 592: true when yanked without a reason.
          yanked: f.yanked === false ? false : f.yanked === '' ? true : f.yanked,
          ...(f.size !== undefined ? { size: f.size } : {}),
          ...(f.uploadTime !== undefined ? { 'upload-time': f.uploadTime } : {}),
        };
      }),
    });
  }
  const links = files.map((f) => {
    const attributes = [`href="${escapeHtml(f.sha256 ? `${f.url}#sha256=${f.sha256}` : f.url)}"`];
    if (f.requiresPython !== undefined) attributes.push(`data-requires-python="${escapeHtml(f.requiresPython)}"`);
    if (f.coreMetadataSha256) {
      attributes.push(`data-dist-info-metadata="sha256=${f.coreMetadataSha256}"`, `data-core-metadata="sha256=${f.coreMetadataSha256}"`);
    }
    if (f.yanked !== false) attributes.push(`data-yanked="${escapeHtml(f.yanked)}"`);
    return `<a ${attributes.join(' ')}>${escapeHtml(f.filename)}</a>`;
  });
  return page(`Links for ${name}`, links, apiVersion);
}
