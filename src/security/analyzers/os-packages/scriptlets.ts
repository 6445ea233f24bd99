import type { ArtifactInfo, ContentView } from '../../types.js';

/**
 * Where an OS package keeps the code its package manager runs as root at install and removal
 * time. Debian ships maintainer scripts as control members (the view holds them under
 * `DEBIAN/`); RPM keeps scriptlets in the header, so its format hands them over in the manifest.
 * Each format registers one source here; everything downstream works on `Scriptlet`s only.
 */

export interface Scriptlet {
  /** As the package manager calls it: `postinst`, `%post`. */
  name: string;
  /** Where findings point: `DEBIAN/postinst`, or what the format chose for header scriptlets. */
  file: string;
  /** UTF-8 text; undefined when the body is binary (`binary`) or was not kept by the view. */
  body?: string;
  binary: boolean;
  /** The program that runs it when the format states one (RPM `-p <interpreter>`); else the shebang decides. */
  interpreter?: string;
  /** Set when `body` holds only the start of the script; `size` is the whole length when known. */
  truncated?: boolean;
  size?: number;
}

export type ScriptletSource = (view: ContentView, artifact: ArtifactInfo) => Scriptlet[];

/** dpkg runs these; `triggers` and `templates` are data, not code. */
export const DEBIAN_SCRIPTS = ['preinst', 'postinst', 'prerm', 'postrm', 'config'] as const;

export const debianScriptlets: ScriptletSource = (view) => {
  const found: Scriptlet[] = [];
  for (const name of DEBIAN_SCRIPTS) {
    const file = `DEBIAN/${name}`;
    const entry = view.get(file);
    if (entry === undefined || entry.type !== 'file') continue;
    const body = view.text(file);
    const binary = body === undefined && view.read(file) !== undefined;
    found.push(body === undefined ? { name, file, binary } : { name, file, body, binary });
  }
  return found;
};

/** Scriptlets a format put in the manifest; hostile manifests are bounded, malformed items skipped. */
const MAX_MANIFEST_SCRIPTLETS = 64;
const MAX_SCRIPTLET_CHARS = 1024 * 1024;

/**
 * `manifest.scriptlets: [{ name, body, interpreter?, file?, truncated?, size? }]`, the contract for
 * formats whose scriptlets are not files of the view (RPM `%pre`, `%post`, `%triggerin`, …). A
 * format that cuts a long body says so with `truncated: true` and the full length in `size`; a
 * body longer than the limit here counts as cut too, so padding cannot hide the rest of a script.
 */
export const manifestScriptlets: ScriptletSource = (_view, artifact) => {
  const list = artifact.manifest.scriptlets;
  if (!Array.isArray(list)) return [];
  const found: Scriptlet[] = [];
  for (const item of list.slice(0, MAX_MANIFEST_SCRIPTLETS)) {
    if (typeof item !== 'object' || item === null) continue;
    const { name, body, interpreter, file, truncated, size } = item as Record<string, unknown>;
    if (typeof name !== 'string' || typeof body !== 'string' || name === '' || name.length > 100) continue;
    const scriptlet: Scriptlet = {
      name,
      file: typeof file === 'string' && file !== '' && file.length <= 300 ? file : `SCRIPTLETS/${name}`,
      body: body.slice(0, MAX_SCRIPTLET_CHARS),
      binary: false,
    };
    if (typeof interpreter === 'string' && interpreter !== '') scriptlet.interpreter = interpreter.slice(0, 200);
    if (body.length > MAX_SCRIPTLET_CHARS || truncated === true) {
      scriptlet.truncated = true;
      scriptlet.size = Math.max(body.length, typeof size === 'number' && Number.isSafeInteger(size) ? size : 0);
    }
    found.push(scriptlet);
  }
  return found;
};

/** Script sources per format; a format not listed only gets the manifest source. */
const SOURCES: Readonly<Record<string, readonly ScriptletSource[]>> = {
  debian: [debianScriptlets, manifestScriptlets],
  rpm: [manifestScriptlets],
};

/** Every scriptlet of the artifact, once per file. */
export function scriptletsOf(view: ContentView, artifact: ArtifactInfo): Scriptlet[] {
  const sources = Object.hasOwn(SOURCES, artifact.format) ? (SOURCES[artifact.format] ?? []) : [manifestScriptlets];
  const seen = new Set<string>();
  const all: Scriptlet[] = [];
  for (const source of sources) {
    for (const s of source(view, artifact)) {
      if (seen.has(s.file)) continue;
      seen.add(s.file);
      all.push(s);
    }
  }
  return all;
}
