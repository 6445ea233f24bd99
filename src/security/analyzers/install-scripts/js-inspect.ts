import { parse, type AnyNode, type Expression, type Node, type Program, type SpreadElement, type Super } from 'acorn';
import { ancestor } from 'acorn-walk';
import { emptyInspection, type Fact, type Inspection } from './facts.js';
import { clip, credentialPathIn, isSecretVariable } from './patterns.js';

/**
 * AST checks for JavaScript run at install time (a shipped `install.js` or `node -e` code). It
 * records capabilities (network, child processes, decoding) and intent (credential paths,
 * secret variables, environment serialization, host facts, obfuscation) with their lines; the
 * judge decides what the combination means.
 */

export interface JsInspectOptions {
  /** Inspects a shell command found in `exec("…")`. */
  shell(command: string, line: number): Inspection;
  lineOffset?: number;
  /** False to use only the cheap line checks (the caller's parse budget is spent). */
  parse?: boolean;
}

/** Larger sources get the line checks only: install helpers are small, and parsing is the cost. */
export const MAX_JS_BYTES = 2 * 1024 * 1024;

const NETWORK_MODULES = new Set(['http', 'https', 'http2', 'net', 'tls', 'dgram', 'dns', 'dns/promises', 'axios', 'node-fetch', 'got', 'request', 'undici', 'superagent', 'needle', 'ws', 'socket.io-client', 'phin', 'bent', 'cross-fetch', 'isomorphic-fetch', 'make-fetch-happen', 'minipass-fetch']);
const PROCESS_MODULE = 'child_process';
const SHELL_FUNCTIONS = new Set(['exec', 'execSync']);
const SPAWN_FUNCTIONS = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync']);
const SYSINFO_FUNCTIONS = new Set(['hostname', 'userInfo', 'networkInterfaces']);
const USER_VARIABLES = new Set(['USER', 'USERNAME', 'LOGNAME', 'HOSTNAME', 'COMPUTERNAME', 'USERDOMAIN']);
const DYNAMIC_CODE = new Set(['eval', 'Function']);
const OBFUSCATED_IDENTIFIER = /^_0x[0-9a-f]{4,}$/i;

export function inspectJs(source: string, options: JsInspectOptions): Inspection {
  const out = emptyInspection();
  const program = options.parse === false || source.length > MAX_JS_BYTES ? undefined : parseLoosely(source);
  const offset = options.lineOffset ?? 0;
  const lines = source.split('\n');
  const lineOf = (node: Node): number => (node.loc?.start.line ?? 1) + offset;
  const evidenceAt = (node: Node): string => clip(lines[(node.loc?.start.line ?? 1) - 1] ?? '');
  const add = (fact: Omit<Fact, 'line' | 'evidence'>, node: Node): void => {
    out.facts.push({ ...fact, line: lineOf(node), evidence: evidenceAt(node) });
  };
  if (program === undefined) {
    inspectUnparsed(source, out, offset);
    return out;
  }

  /** Local names bound to a module (`const cp = require('child_process')`) or a module member. */
  const bindings = new Map<string, { module: string; member?: string }>();
  /** Names assigned from a decoding expression (`const code = Buffer.from(x, 'base64')`). */
  const decodedNames = new Set<string>();
  const obfuscated = new Set<string>();
  let obfuscatedFirst: Node | undefined;

  const moduleOf = (node: AnyNode | Super | undefined): string | undefined => {
    if (node === undefined) return undefined;
    if (node.type === 'Identifier') {
      const b = bindings.get(node.name);
      return b !== undefined && b.member === undefined ? b.module : undefined;
    }
    const required = requiredModule(node);
    return required === undefined ? undefined : stripNodePrefix(required);
  };

  // First pass: bindings, so uses before the walk reaches the declaration still resolve.
  /** `fetch` declared in the file is the file's own helper, not the global. */
  let ownFetch = false;
  ancestor(program, {
    FunctionDeclaration(node) {
      if (node.id?.name === 'fetch') ownFetch = true;
    },
    VariableDeclarator(node) {
      if (node.id.type === 'Identifier' && node.id.name === 'fetch') ownFetch = true;
      if (node.init === null || node.init === undefined) return;
      const init = unwrapAwait(node.init);
      const module = requiredModule(init);
      if (module !== undefined) bindPattern(node.id, stripNodePrefix(module), bindings);
      else if (init.type === 'MemberExpression' && !init.computed && init.property.type === 'Identifier') {
        const objModule = requiredModule(init.object);
        if (objModule !== undefined && node.id.type === 'Identifier') bindings.set(node.id.name, { module: stripNodePrefix(objModule), member: init.property.name });
      }
      if (node.id.type === 'Identifier' && containsDecode(init)) decodedNames.add(node.id.name);
    },
    ImportDeclaration(node) {
      const module = stripNodePrefix(String(node.source.value));
      for (const spec of node.specifiers) {
        if (spec.type === 'ImportSpecifier') bindings.set(spec.local.name, { module, member: spec.imported.type === 'Identifier' ? spec.imported.name : String(spec.imported.value) });
        else bindings.set(spec.local.name, { module });
      }
    },
  });

  const calleeInfo = (callee: Expression | Super): { module?: string; member?: string; name?: string } => {
    if (callee.type === 'Identifier') {
      const b = bindings.get(callee.name);
      return b !== undefined ? { module: b.module, member: b.member, name: callee.name } : { name: callee.name };
    }
    if (callee.type === 'MemberExpression') {
      const member = propertyName(callee);
      return { module: moduleOf(callee.object), member, name: member };
    }
    return {};
  };

  const seenModules = new Set<string>();
  const noteModule = (module: string, node: Node): void => {
    const m = stripNodePrefix(module);
    if (seenModules.has(m)) return;
    seenModules.add(m);
    if (NETWORK_MODULES.has(m)) add({ kind: 'network-api', what: m }, node);
  };

  ancestor(program, {
    ImportDeclaration(node) {
      noteModule(String(node.source.value), node);
    },
    ImportExpression(node) {
      if (node.source.type === 'Literal' && typeof node.source.value === 'string') noteModule(node.source.value, node);
    },
    CallExpression(node, _state, ancestors) {
      const required = requiredModule(node);
      if (required !== undefined) {
        noteModule(required, node);
        if (required.startsWith('.')) out.runs.push({ path: required, language: 'js', line: lineOf(node) });
        return;
      }
      const info = calleeInfo(node.callee);
      if (!ownFetch && info.module === undefined && info.name === 'fetch' && node.callee.type === 'Identifier') add({ kind: 'network-api', what: 'fetch' }, node);
      if (info.module === PROCESS_MODULE && info.member !== undefined) {
        const first = node.arguments[0];
        if (SHELL_FUNCTIONS.has(info.member)) {
          const text = first === undefined ? undefined : staticText(first);
          if (text !== undefined) mergeShell(options.shell(text, lineOf(node)), node);
        } else if (SPAWN_FUNCTIONS.has(info.member)) {
          const command = spawnCommand(node.arguments);
          if (command !== undefined) mergeShell(options.shell(command, lineOf(node)), node);
        }
      }
      if (info.module === 'os' && info.member !== undefined) {
        if (SYSINFO_FUNCTIONS.has(info.member)) add({ kind: 'sysinfo', what: `os.${info.member}()` }, node);
        else if (info.member === 'homedir') add({ kind: 'homedir', what: 'os.homedir()' }, node);
      }
      if ((info.module === 'dns' || info.module === 'dns/promises') && info.member === 'getServers') add({ kind: 'sysinfo', what: 'dns.getServers()' }, node);
      if (isEnvSerialization(node) && !isFiltered(node, ancestors)) add({ kind: 'env-dump', what: 'process.env' }, node);
      if (isDecodeCall(node)) add({ kind: 'decode', what: 'base64 decoding' }, node);
      // Decoded data flowing into eval / Function / vm / a shell.
      const executes = (info.module === undefined && info.name !== undefined && DYNAMIC_CODE.has(info.name)) || (info.module === 'vm' && /^run|^compileFunction$|^Script$/.test(info.member ?? '')) || (info.module === PROCESS_MODULE && info.member !== undefined);
      if (executes && node.arguments.some((a) => containsDecode(a) || (a.type === 'Identifier' && decodedNames.has(a.name)))) add({ kind: 'decode-execute', what: info.name ?? 'eval' }, node);
    },
    NewExpression(node) {
      const info = calleeInfo(node.callee);
      if (node.callee.type === 'Identifier' && (node.callee.name === 'WebSocket' || node.callee.name === 'XMLHttpRequest')) add({ kind: 'network-api', what: node.callee.name }, node);
      const executes = (info.name === 'Function' && info.module === undefined) || (info.module === 'vm' && info.member === 'Script');
      if (executes && node.arguments.some((a) => containsDecode(a) || (a.type === 'Identifier' && decodedNames.has(a.name)))) add({ kind: 'decode-execute', what: 'Function' }, node);
      if (node.callee.type === 'Identifier' && node.callee.name === 'URLSearchParams' && node.arguments.some(isProcessEnv)) add({ kind: 'env-dump', what: 'process.env' }, node);
    },
    MemberExpression(node, _state, ancestors) {
      if (!isProcessEnv(node.object)) return;
      // Setting or deleting a variable (`process.env.TOKEN = …`) is not reading it.
      const parent = ancestors[ancestors.length - 2];
      if (parent?.type === 'AssignmentExpression' && parent.left === node) return;
      if (parent?.type === 'UnaryExpression' && parent.operator === 'delete') return;
      const name = propertyName(node);
      if (name === undefined) return;
      if (isSecretVariable(name)) add({ kind: 'secret-variable', what: `process.env.${name}` }, node);
      else if (USER_VARIABLES.has(name)) add({ kind: 'sysinfo', what: `process.env.${name}` }, node);
    },
    ForInStatement(node) {
      if (isProcessEnv(node.right)) add({ kind: 'env-dump', what: 'process.env' }, node);
    },
    Literal(node) {
      if (typeof node.value === 'string') {
        const path = credentialPathIn(node.value);
        if (path !== undefined) add({ kind: 'credential-path', what: path, confidence: 'high' }, node);
      }
    },
    TemplateElement(node) {
      const path = credentialPathIn(node.value.cooked ?? node.value.raw);
      if (path !== undefined) add({ kind: 'credential-path', what: path, confidence: 'high' }, node);
    },
    Identifier(node) {
      if (OBFUSCATED_IDENTIFIER.test(node.name)) {
        obfuscated.add(node.name);
        obfuscatedFirst ??= node;
      }
    },
  });

  // obfuscator.io output names everything `_0x…`; a handful of distinct ones is already telling.
  if (obfuscated.size >= 5 && obfuscatedFirst !== undefined) {
    add({ kind: 'obfuscation', what: `${obfuscated.size} _0x identifiers`, confidence: obfuscated.size >= 20 ? 'high' : 'medium' }, obfuscatedFirst);
  }
  return out;

  function mergeShell(inner: Inspection, node: Node): void {
    for (const f of inner.facts) out.facts.push({ ...f, line: lineOf(node), evidence: evidenceAt(node) });
  }
}

function parseLoosely(source: string): Program | undefined {
  for (const sourceType of ['module', 'script'] as const) {
    try {
      return parse(source, {
        ecmaVersion: 'latest',
        sourceType,
        locations: true,
        allowHashBang: true,
        allowReturnOutsideFunction: true,
        allowImportExportEverywhere: true,
        allowAwaitOutsideFunction: true,
      });
    } catch {
      // Try the other source type; give up after both.
    }
  }
  return undefined;
}

/** When the file does not parse (new syntax, TypeScript), fall back to cheap text checks. */
function inspectUnparsed(source: string, out: Inspection, offset: number): void {
  const lines = source.split('\n');
  let obfuscated = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] as string).slice(0, 4096);
    const line = i + 1 + offset;
    const evidence = clip(text);
    const m = /\brequire\s*\(\s*["'](?:node:)?(https?|net|dns|tls|dgram)["']\s*\)/.exec(text);
    if (m !== null) out.facts.push({ kind: 'network-api', line, evidence, what: m[1] ?? 'network', confidence: 'low' });
    const path = credentialPathIn(text, 'line');
    if (path !== undefined) out.facts.push({ kind: 'credential-path', line, evidence, what: path, confidence: 'medium' });
    obfuscated += (text.match(/\b_0x[0-9a-f]{4,}\b/gi) ?? []).length;
  }
  if (obfuscated >= 20) out.facts.push({ kind: 'obfuscation', line: 1 + offset, evidence: clip(lines[0] ?? ''), what: `${obfuscated} _0x identifiers`, confidence: 'medium' });
}

function stripNodePrefix(module: string): string {
  return module.startsWith('node:') ? module.slice(5) : module;
}

function unwrapAwait(node: Expression): Expression {
  return node.type === 'AwaitExpression' ? node.argument : node;
}

/** `require('x')` or `import('x')` with a literal name. */
function requiredModule(node: AnyNode | Super): string | undefined {
  if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && node.callee.name === 'require') {
    const arg = node.arguments[0];
    if (arg !== undefined && arg.type === 'Literal' && typeof arg.value === 'string') return arg.value;
    if (arg !== undefined && arg.type === 'TemplateLiteral' && arg.expressions.length === 0) return arg.quasis[0]?.value.cooked ?? undefined;
  }
  if (node.type === 'ImportExpression' && node.source.type === 'Literal' && typeof node.source.value === 'string') return node.source.value;
  return undefined;
}

function bindPattern(pattern: AnyNode, module: string, bindings: Map<string, { module: string; member?: string }>): void {
  if (pattern.type === 'Identifier') bindings.set(pattern.name, { module });
  else if (pattern.type === 'ObjectPattern') {
    for (const prop of pattern.properties) {
      if (prop.type !== 'Property') continue;
      const key = prop.key.type === 'Identifier' ? prop.key.name : prop.key.type === 'Literal' ? String(prop.key.value) : undefined;
      const value = prop.value.type === 'AssignmentPattern' ? prop.value.left : prop.value;
      if (key !== undefined && value.type === 'Identifier') bindings.set(value.name, { module, member: key });
    }
  }
}

function propertyName(node: AnyNode): string | undefined {
  if (node.type !== 'MemberExpression') return undefined;
  if (!node.computed && node.property.type === 'Identifier') return node.property.name;
  if (node.property.type === 'Literal' && typeof node.property.value === 'string') return node.property.value;
  return undefined;
}

function isProcessEnv(node: AnyNode | Super): boolean {
  return node.type === 'MemberExpression' && node.object.type === 'Identifier' && node.object.name === 'process' && propertyName(node) === 'env';
}

/** `JSON.stringify(process.env)`, `Object.entries(process.env)`, `util.inspect(process.env)`… */
function isEnvSerialization(node: AnyNode): boolean {
  if (node.type !== 'CallExpression' || node.callee.type !== 'MemberExpression') return false;
  const method = propertyName(node.callee);
  if (method === undefined || !/^(?:stringify|keys|entries|values|inspect|format|encode)$/.test(method)) return false;
  return node.arguments.some((a) => isProcessEnv(a));
}

/** `Object.keys(process.env).filter(…)`: picking some variables (`npm_config_*`) is not a dump. */
function isFiltered(node: AnyNode, ancestors: readonly AnyNode[]): boolean {
  const parent = ancestors[ancestors.length - 2];
  if (parent?.type !== 'MemberExpression' || parent.object !== node) return false;
  const method = propertyName(parent);
  return method === 'filter' || method === 'find' || method === 'some' || method === 'includes';
}

/** `Buffer.from(x, 'base64'|'hex')`, `atob(x)`. */
function isDecodeCall(node: AnyNode): boolean {
  if (node.type !== 'CallExpression') return false;
  const callee = node.callee;
  if (callee.type === 'Identifier' && callee.name === 'atob') return true;
  if (callee.type === 'MemberExpression' && callee.object.type === 'Identifier' && callee.object.name === 'Buffer' && propertyName(callee) === 'from') {
    const enc = node.arguments[1];
    return enc !== undefined && enc.type === 'Literal' && (enc.value === 'base64' || enc.value === 'hex' || enc.value === 'base64url');
  }
  return false;
}

/** Is there a decoding call inside this expression (bounded walk)? */
function containsDecode(root: Expression | SpreadElement): boolean {
  const stack: AnyNode[] = [root];
  for (let guard = 0; stack.length > 0 && guard < 200; guard++) {
    const node = stack.pop() as AnyNode;
    if (isDecodeCall(node)) return true;
    switch (node.type) {
      case 'CallExpression':
        stack.push(node.callee as AnyNode, ...(node.arguments as AnyNode[]));
        break;
      case 'MemberExpression':
        stack.push(node.object as AnyNode);
        break;
      case 'BinaryExpression':
        stack.push(node.left as AnyNode, node.right);
        break;
      case 'TemplateLiteral':
        stack.push(...node.expressions);
        break;
      case 'SpreadElement':
      case 'AwaitExpression':
        stack.push(node.argument);
        break;
      default:
        break;
    }
  }
  return false;
}

/** The text of a string literal or template (`${…}` kept as `$X` so the shell parser sees a variable). */
function staticText(node: Expression | SpreadElement): string | undefined {
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral') return node.quasis.map((q) => q.value.cooked ?? q.value.raw).join('$X');
  if (node.type === 'BinaryExpression' && node.operator === '+') {
    const left = staticText(node.left as Expression);
    const right = staticText(node.right);
    if (left !== undefined || right !== undefined) return `${left ?? '$X'}${right ?? '$X'}`;
  }
  return undefined;
}

/** `spawn('curl', ['-s', url])` as a shell command line, arguments single-quoted. */
function spawnCommand(args: readonly (Expression | SpreadElement)[]): string | undefined {
  const [program, list] = args;
  const name = program === undefined ? undefined : staticText(program);
  if (name === undefined) return undefined;
  const words = [name];
  if (list !== undefined && list.type === 'ArrayExpression') {
    for (const el of list.elements) {
      const text = el === null ? undefined : staticText(el);
      words.push(text === undefined ? '$X' : `'${text.replace(/'/g, `'\\''`)}'`);
    }
  }
  return words.join(' ');
}
