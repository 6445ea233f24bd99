import type { GemContents } from './gem.js';

/**
 * What the security gate reads about a gem besides its files: the GemSpec as plain JSON, with
 * the same property names (name, version, platform, summary, description, authors, email,
 * homepage, licenses, metadata, dependencies, requiredRubyVersion, bindir, executables,
 * extensions, files, requirePaths, postInstallMessage, …), plus `fileList`: the spec's `files`
 * against data.tar (`missing`, `unlisted`). The spec is already bounded by the parser's limits.
 */
export function rubygemsGateManifest(contents: Pick<GemContents, 'spec' | 'fileList'>): Record<string, unknown> {
  // A JSON round trip turns the null-prototype metadata map into a plain object and drops undefined fields.
  const spec = JSON.parse(JSON.stringify(contents.spec)) as Record<string, unknown>;
  return { ...spec, fileList: { missing: [...contents.fileList.missing], unlisted: [...contents.fileList.unlisted] } };
}
