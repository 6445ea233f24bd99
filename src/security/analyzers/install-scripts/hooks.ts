import type { ContentView } from '../../types.js';

/** Lifecycle scripts npm runs when the package is installed as a dependency. */
const INSTALL_HOOKS = ['preinstall', 'install', 'postinstall'] as const;
/** npm runs these only when the dependency comes from a git repository (it builds it first). */
const GIT_HOOKS = ['preprepare', 'prepare', 'postprepare'] as const;

export interface Hook {
  name: string;
  command: string;
  /** Runs only for git dependencies. */
  gitOnly: boolean;
  /** Where the hook is declared: package.json, or binding.gyp for the implicit `node-gyp rebuild`. */
  file: string;
  /** 1-based line of the declaration in package.json, when found. */
  line?: number;
}

/** The install-time hooks of an npm package, the implicit `node-gyp rebuild` included. */
export function installHooks(manifest: Record<string, unknown>, view: ContentView): Hook[] {
  const scripts = scriptsOf(manifest);
  const packageJson = view.text('package.json');
  const hooks: Hook[] = [];
  for (const name of [...INSTALL_HOOKS, ...GIT_HOOKS]) {
    const command = scripts[name];
    if (typeof command !== 'string' || command.trim() === '') continue;
    const line = packageJson === undefined ? undefined : keyLine(packageJson, name);
    hooks.push({ name, command, gitOnly: (GIT_HOOKS as readonly string[]).includes(name), file: 'package.json', ...(line !== undefined ? { line } : {}) });
  }
  // npm: a root binding.gyp with no install or preinstall script means `install: node-gyp rebuild`,
  // unless the manifest says `gypfile: false`.
  const hasGyp = view.get('binding.gyp')?.type === 'file';
  if (hasGyp && manifest.gypfile !== false && typeof scripts.install !== 'string' && typeof scripts.preinstall !== 'string') {
    hooks.push({ name: 'install', command: 'node-gyp rebuild', gitOnly: false, file: 'binding.gyp' });
  }
  return hooks;
}

export function scriptsOf(manifest: Record<string, unknown>): Readonly<Record<string, unknown>> {
  const scripts = manifest.scripts;
  if (scripts === null || typeof scripts !== 'object' || Array.isArray(scripts)) return Object.create(null) as Record<string, unknown>;
  // Copy into a prototype-free map: script names come from the publisher.
  return Object.assign(Object.create(null) as Record<string, unknown>, scripts);
}

/** The line where `"key":` first appears in a JSON text (scripts sit once in package.json). */
function keyLine(json: string, key: string): number | undefined {
  const needle = `"${key}"`;
  let from = 0;
  for (;;) {
    const at = json.indexOf(needle, from);
    if (at === -1) return undefined;
    if (/^\s*:/.test(json.slice(at + needle.length, at + needle.length + 32))) {
      let line = 1;
      for (let i = json.indexOf('\n'); i !== -1 && i < at; i = json.indexOf('\n', i + 1)) line++;
      return line;
    }
    from = at + needle.length;
  }
}

/** `<!(cmd)` and `<!@(cmd)` in a .gyp file: gyp runs these commands while configuring the build. */
export function gypCommands(gyp: string): { command: string; line: number }[] {
  const out: { command: string; line: number }[] = [];
  const re = /<!@?\(/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(gyp)) !== null && out.length < 100) {
    let level = 1;
    let i = m.index + m[0].length;
    const start = i;
    for (; i < gyp.length && level > 0 && i - start < 4096; i++) {
      if (gyp[i] === '(') level++;
      else if (gyp[i] === ')') level--;
    }
    // .gyp files are Python literals: the command sits in a string with escaped quotes.
    const command = gyp.slice(start, level === 0 ? i - 1 : i).replace(/\\(["'\\])/g, '$1');
    let line = 1;
    for (let k = gyp.indexOf('\n'); k !== -1 && k < m.index; k = gyp.indexOf('\n', k + 1)) line++;
    out.push({ command, line });
    re.lastIndex = i;
  }
  return out;
}
