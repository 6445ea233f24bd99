import type { Fact, Inspection } from '../install-scripts/facts.js';
import { emptyInspection } from '../install-scripts/facts.js';
import { inspectJs } from '../install-scripts/js-inspect.js';
import { credentialPathIn, DOWNLOADERS, NODES, OTHER_INTERPRETERS, PYTHONS, SHELLS, SOCKET_TOOLS, WRAPPERS } from '../install-scripts/patterns.js';
import { inspectShell, inspectShellSource, type ShellInspectOptions } from '../install-scripts/shell-inspect.js';
import { allCommands, parseShell, type ShellCommand, type ShellScript, type ShellWord } from '../install-scripts/shell-parse.js';
import { inspectText } from '../install-scripts/text-inspect.js';
import type { Hit } from './findings.js';
import { isShippedService, type ShippedServices, unitFileName } from './package-contents.js';

/**
 * Rules for code the package manager runs as root: maintainer scripts, and shell the payload
 * hands to the system (cron jobs, profile.d). The shared install-scripts inspector finds
 * download/decode-and-execute and network use; the command walk here adds what only matters
 * for OS packages: accounts, keys, sudoers, persistence, disabled defences, wiped logs. Ordinary
 * maintainer-script idioms (debhelper snippets, service users, the package's own units) are
 * recognised so they stay silent.
 */

export interface ScriptScope {
  /** For messages: `the postinst script`, `the cron job`. */
  subject: string;
  shipped: ShippedServices;
  /** Called between commands so a hostile script ends as a recorded timeout. */
  checkDeadline(): void;
}

/** `sh -c`, `su -c`, `eval` levels followed. */
const MAX_NESTING = 4;
/** Real maintainer scripts have a few hundred commands; debhelper-heavy ones a few thousand. */
const MAX_COMMANDS = 20_000;
/** Levels of code-in-a-string (`python -c "os.system('sh -c …')"`) the shared inspector follows. */
const MAX_INLINE_DEPTH = 4;

const PRIVILEGED_GROUPS: ReadonlySet<string> = new Set(['root', 'sudo', 'wheel', 'admin', '0']);

/** Services whose stop or disable turns a defence off. */
const SECURITY_SERVICES: ReadonlySet<string> = new Set([
  'apparmor',
  'auditd',
  'firewalld',
  'ufw',
  'nftables',
  'iptables',
  'ip6tables',
  'netfilter-persistent',
  'fail2ban',
  'selinux-autorelabel',
  'clamav-daemon',
  'clamav-freshclam',
  'osqueryd',
  'wazuh-agent',
  'ossec',
  'falcon-sensor',
  'aide',
  'rkhunter',
]);

const BUILTIN_CHAINS: ReadonlySet<string> = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);

/** Inspects one shell script (or a shell fragment such as a cron command). */
export function inspectShellCode(source: string, scope: ScriptScope, lineOffset = 0): Hit[] {
  const script = parseShell(source, { lineOffset });
  const hits: Hit[] = [];
  const oversized = oversizedCommand(script);
  if (oversized === undefined) {
    hits.push(...factsToHits(inspectShell(script, sharedOptions(0)).facts, scope));
  } else {
    // The shared inspector's cost grows with words × length of each command; no real script
    // comes near this, so it is a reviewer's call rather than seconds of CPU.
    hits.push({
      rule: 'uninspectable-script',
      severity: 'high',
      confidence: 'high',
      message: `${scope.subject} has a command of ${oversized.words} words, too large to inspect.`,
      line: oversized.line,
    });
  }
  const state = newState(scope, hits);
  walk(script, state, 0);
  finish(state);
  return hits;
}

/** Scripts in Perl or Python: the shared token checks, plus the marker paths we care about. */
export function inspectOtherScript(source: string, language: 'perl' | 'python', scope: ScriptScope): Hit[] {
  const inspection = inspectText(source, { language, shell: (command, line) => inspectShellSource(command, sharedOptions(1), line - 1) });
  const hits = factsToHits(inspection.facts, scope);
  source.split('\n').forEach((text, index) => {
    const marker = /\/dev\/(?:tcp|udp)\/|\/etc\/ld\.so\.preload|\.ssh\/authorized_keys|\/etc\/sudoers/.exec(text);
    if (marker === null || /^\s*#/.test(text)) return;
    hits.push({
      rule: marker[0].startsWith('/dev/') ? 'reverse-shell' : marker[0].includes('preload') ? 'preload-hijack' : marker[0].includes('ssh') ? 'authorized-keys' : 'sudoers',
      severity: 'high',
      confidence: 'medium',
      message: `${scope.subject} refers to ${marker[0]}, a path used to take over a system.`,
      line: index + 1,
      evidence: text,
    });
  });
  return hits;
}

/** Words × characters of one command above which the shared inspector is not run. */
const MAX_COMMAND_COST = 20_000_000;

function oversizedCommand(script: ShellScript): { words: number; line: number } | undefined {
  for (const cmd of allCommands(script)) {
    const words = [...cmd.assignments, ...cmd.words, ...cmd.redirects.map((r) => r.target)];
    let chars = 0;
    for (const w of words) chars += w.text.length;
    if (words.length * chars > MAX_COMMAND_COST) return { words: words.length, line: cmd.line };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Facts of the shared inspector

/** The language checks of install-scripts wired to each other, bounded in depth. */
function sharedOptions(depth: number): ShellInspectOptions {
  return {
    inline(language, code) {
      if (depth >= MAX_INLINE_DEPTH) return emptyInspection();
      const shell = (command: string, line: number): Inspection => inspectShellSource(command, sharedOptions(depth + 1), line - 1);
      if (language === 'js') return inspectJs(code, { shell });
      return inspectText(code, { language, shell });
    },
  };
}

const NETWORK_FACTS: ReadonlySet<string> = new Set(['pipe-to-shell', 'download-execute', 'download-tool', 'network-tool', 'socket-tool', 'network-api']);

function factsToHits(facts: readonly Fact[], scope: ScriptScope): Hit[] {
  const s = scope.subject;
  const networked = facts.some((f) => NETWORK_FACTS.has(f.kind));
  const networkOn = (line: number | undefined): boolean => line !== undefined && facts.some((f) => f.line === line && NETWORK_FACTS.has(f.kind));
  const hits: Hit[] = [];
  const add = (fact: Fact, hit: Omit<Hit, 'line' | 'evidence'>): void => {
    hits.push({ ...hit, evidence: fact.evidence, ...(fact.line !== undefined ? { line: fact.line } : {}), ...(fact.what !== undefined ? { details: { matched: fact.what } } : {}) });
  };
  for (const fact of facts) {
    switch (fact.kind) {
      case 'pipe-to-shell':
        add(fact, { rule: 'download-execute', severity: 'critical', confidence: 'high', message: `${s} downloads code and runs it straight through an interpreter.` });
        break;
      case 'download-execute':
        // Medium confidence: a download and a `chmod +x` in one script, not provably the same file.
        if (fact.confidence === 'high' || fact.confidence === undefined) {
          add(fact, { rule: 'download-execute', severity: 'critical', confidence: 'high', message: `${s} downloads a file and makes it executable or runs it.` });
        } else {
          add(fact, { rule: 'download-execute', severity: 'high', confidence: 'medium', message: `${s} downloads a file and makes a file executable.` });
        }
        break;
      case 'decode-execute':
        add(fact, { rule: 'decode-execute', severity: 'critical', confidence: 'high', message: `${s} decodes hidden content (${fact.what ?? 'base64'}) and executes it.` });
        break;
      case 'download-tool':
      case 'socket-tool':
        // Debian Policy keeps maintainer scripts off the network; installer packages are the exception.
        add(fact, { rule: 'network', severity: 'medium', confidence: 'medium', message: `${s} uses the network tool ${fact.what ?? ''} at install time.` });
        break;
      case 'network-tool':
        add(fact, { rule: 'network', severity: 'low', confidence: 'low', message: `${s} runs ${fact.what ?? 'a network tool'}.` });
        break;
      case 'credential-path':
        // /etc/passwd is world-readable and grepped by old maintainer scripts; authorized_keys
        // writes have their own rule. Only credentials next to network use count.
        if (networked && fact.what !== '/etc/passwd' && !/authorized_keys/.test(fact.evidence)) {
          if (networkOn(fact.line)) add(fact, { rule: 'exfiltration', severity: 'critical', confidence: 'high', message: `${s} reads the credential store ${fact.what ?? ''} and sends it over the network.` });
          else add(fact, { rule: 'exfiltration', severity: 'high', confidence: 'medium', message: `${s} reads the credential store ${fact.what ?? ''} and uses the network elsewhere.` });
        }
        break;
      case 'env-dump':
        if (networkOn(fact.line)) add(fact, { rule: 'exfiltration', severity: 'critical', confidence: 'high', message: `${s} serializes all environment variables and sends them over the network.` });
        else if (networked) add(fact, { rule: 'exfiltration', severity: 'high', confidence: 'medium', message: `${s} serializes all environment variables and uses the network elsewhere.` });
        break;
      case 'inline-code':
        add(fact, { rule: 'inline-code', severity: 'high', confidence: 'medium', message: `${s} runs inline ${fact.what ?? 'code'}.` });
        break;
      default:
        break;
    }
  }
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Command walk

interface State {
  scope: ScriptScope;
  hits: Hit[];
  commands: number;
  /** Unit file names the script writes itself, by line. */
  writtenUnits: Map<string, number>;
  /** Services enabled that the package does not ship; judged once the whole script is seen. */
  enabled: { unit: string; line: number; evidence: string; how: string }[];
  fifoLine?: number;
  sockets: { line: number; evidence: string }[];
}

function newState(scope: ScriptScope, hits: Hit[]): State {
  return { scope, hits, commands: 0, writtenUnits: new Map(), enabled: [], sockets: [] };
}

function hit(state: State, cmd: ShellCommand, h: Omit<Hit, 'line' | 'evidence'>): void {
  state.hits.push({ ...h, line: cmd.line, evidence: evidenceOf(cmd) });
}

function evidenceOf(cmd: ShellCommand): string {
  const words = [...cmd.assignments, ...cmd.words].map((w) => w.text);
  const redirects = cmd.redirects.map((r) => `${r.op}${r.target.text}`);
  return [...words, ...redirects].join(' ');
}

function walk(script: ShellScript, state: State, nesting: number): void {
  for (const pipeline of script.pipelines) {
    if (state.commands > MAX_COMMANDS) return;
    checkPipeline(pipeline.commands, state);
    for (const cmd of pipeline.commands) {
      if (++state.commands > MAX_COMMANDS) return;
      if (state.commands % 500 === 0) state.scope.checkDeadline();
      if (cmd.group !== undefined) walk(cmd.group, state, nesting);
      for (const w of [...cmd.assignments, ...cmd.words, ...cmd.redirects.map((r) => r.target)]) {
        for (const sub of w.substitutions) walk(sub, state, nesting);
      }
      checkCommand(cmd, state, nesting);
    }
  }
}

interface Resolved {
  program: string;
  args: ShellWord[];
}

function baseName(text: string): string {
  return text.split('/').pop() ?? text;
}

const isOption = (w: ShellWord): boolean => w.text.length > 1 && w.text.startsWith('-');

/** Peels `sudo`, `env A=1`, `timeout 5`, `nohup` …; undefined for `command -v x` (a look-up). */
function resolve(words: readonly ShellWord[]): Resolved | undefined {
  let rest = words;
  for (let guard = 0; guard < 8; guard++) {
    const first = rest[0];
    if (first === undefined) return undefined;
    const name = baseName(first.text).toLowerCase();
    if (name === 'command' && /^-[vV]$/.test(rest[1]?.text ?? '')) return undefined;
    if (WRAPPERS.has(name) || name === 'env' || name === 'timeout' || name === 'chroot') {
      rest = rest.slice(1);
      while (rest[0] !== undefined && (isOption(rest[0]) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0].text))) rest = rest.slice(1);
      if (name === 'timeout' && rest[0] !== undefined && /^[0-9.]+[smhd]?$/.test(rest[0].text)) rest = rest.slice(1);
      continue;
    }
    return { program: name, args: rest.slice(1) };
  }
  return undefined;
}

/** Non-option arguments, skipping the values of the listed options. */
function operands(args: readonly ShellWord[], valueOptions: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const t = (args[i] as ShellWord).text;
    if (t === '--') {
      out.push(...args.slice(i + 1).map((w) => w.text));
      break;
    }
    if (valueOptions.has(t)) {
      i++;
      continue;
    }
    if (t.length > 1 && t.startsWith('-')) continue;
    out.push(t);
  }
  return out;
}

const isLiteral = (text: string): boolean => !/[$`]/.test(text);

function checkPipeline(commands: readonly ShellCommand[], state: State): void {
  if (commands.length < 2) return;
  const resolved = commands.map((c) => resolve(c.words));
  const socket = resolved.findIndex((r) => r !== undefined && (SOCKET_TOOLS.has(r.program) || (r.program === 'openssl' && r.args.some((a) => a.text === 's_client'))));
  const shell = resolved.findIndex((r) => r !== undefined && SHELLS.has(r.program) && r.args.every((a) => isOption(a) && !/^-[a-z]*c$/.test(a.text)));
  if (socket !== -1 && shell !== -1) {
    const cmd = commands[socket] as ShellCommand;
    state.hits.push({
      rule: 'reverse-shell',
      severity: 'critical',
      confidence: 'high',
      message: `${state.scope.subject} connects a shell to a raw network connection (reverse shell).`,
      line: cmd.line,
      evidence: commands.map(evidenceOf).join(' | '),
    });
  }
}

function checkCommand(cmd: ShellCommand, state: State, nesting: number): void {
  const s = state.scope.subject;
  for (const w of [...cmd.words, ...cmd.redirects.map((r) => r.target)]) {
    if (/\/dev\/(?:tcp|udp)\/[^/\s]+\/[0-9$]/.test(w.text)) {
      hit(state, cmd, { rule: 'reverse-shell', severity: 'critical', confidence: 'high', message: `${s} opens a raw connection through /dev/tcp (reverse shell).` });
      break;
    }
  }
  for (const a of cmd.assignments) checkHistoryVariable(a.text, cmd, state);
  for (const r of cmd.redirects) {
    // `>&2` and `2>&1` duplicate descriptors; only real file targets are writes.
    if (!/^(?:>|>>|>\||&>|&>>|<>|>&)$/.test(r.op) || /^(?:[0-9]+|-)$/.test(r.target.text)) continue;
    checkWrite(r.target.text, r.op.includes('>>') ? 'append' : 'replace', cmd, state);
  }

  const r = resolve(cmd.words);
  if (r === undefined) return;
  const p = r.program;
  const texts = r.args.map((a) => a.text);

  // Code handed to a shell: `sh -c '…'`, `su root -c '…'`, `eval "…"`.
  const nested = nestedCode(r);
  if (nested !== undefined && nesting < MAX_NESTING) {
    const inner = parseShell(nested, { lineOffset: cmd.line - 1 });
    // The shared inspector follows `sh -c` and `eval` itself, but not `su -c` or `runuser -c`.
    if (p === 'su' || p === 'runuser') state.hits.push(...factsToHits(inspectShell(inner, sharedOptions(1)).facts, state.scope));
    walk(inner, state, nesting + 1);
  }

  switch (p) {
    case 'useradd':
    case 'adduser':
    case 'usermod':
    case 'addgroup':
    case 'gpasswd':
      checkAccount(r, cmd, state);
      break;
    case 'chpasswd':
      hit(state, cmd, { rule: 'privileged-user', severity: 'high', confidence: 'high', message: `${s} sets account passwords.` });
      break;
    case 'passwd':
      if (texts.some((t) => t === '-d' || t === '--delete')) hit(state, cmd, { rule: 'privileged-user', severity: 'critical', confidence: 'high', message: `${s} removes an account's password.` });
      else if (texts.includes('--stdin')) hit(state, cmd, { rule: 'privileged-user', severity: 'high', confidence: 'high', message: `${s} sets an account password.` });
      break;
    case 'crontab': {
      if (texts.some((t) => /^-[lrevi]+$/.test(t))) break;
      if (operands(r.args, new Set(['-u'])).length > 0) {
        hit(state, cmd, { rule: 'persistence', severity: 'high', confidence: 'high', message: `${s} installs a crontab (Debian Policy forbids packages touching crontabs).` });
      }
      break;
    }
    case 'systemctl':
      checkSystemctl(r, cmd, state);
      break;
    case 'deb-systemd-helper':
    case 'deb-systemd-invoke':
      // debhelper only generates these for the package's own units; anything else is hand-written.
      checkDebSystemd(r, cmd, state);
      break;
    case 'service':
    case 'invoke-rc.d':
    case 'rc-service':
      if (/^(?:stop|disable)$/.test(texts[1] ?? '')) checkStopService(texts[0] ?? '', cmd, state);
      break;
    case 'update-rc.d':
    case 'chkconfig':
      checkInitLinks(r, cmd, state);
      break;
    case 'setenforce':
      if (/^(?:0|permissive)$/i.test(texts[0] ?? '')) hit(state, cmd, { rule: 'disable-security', severity: 'high', confidence: 'high', message: `${s} switches SELinux to permissive mode.` });
      break;
    case 'iptables':
    case 'ip6tables':
    case 'iptables-legacy':
    case 'iptables-nft':
    case 'ip6tables-legacy':
    case 'ip6tables-nft':
      checkIptables(texts, cmd, state);
      break;
    case 'nft':
      if (texts[0] === 'flush' && texts[1] === 'ruleset') hit(state, cmd, { rule: 'disable-security', severity: 'high', confidence: 'high', message: `${s} flushes every firewall rule.` });
      break;
    case 'ufw':
      if (texts.includes('disable')) hit(state, cmd, { rule: 'disable-security', severity: 'high', confidence: 'high', message: `${s} disables the firewall.` });
      break;
    case 'aa-teardown':
      hit(state, cmd, { rule: 'disable-security', severity: 'high', confidence: 'high', message: `${s} unloads every AppArmor profile.` });
      break;
    case 'auditctl':
      if (texts.includes('-D') || texts.join(' ').includes('-e 0')) hit(state, cmd, { rule: 'disable-security', severity: 'high', confidence: 'high', message: `${s} turns off or clears kernel auditing.` });
      break;
    case 'history':
      if (texts.some((t) => /^-[a-z]*c/.test(t))) hit(state, cmd, { rule: 'anti-forensics', severity: 'high', confidence: 'high', message: `${s} clears the shell history.` });
      break;
    case 'unset':
    case 'export':
    case 'declare':
    case 'typeset':
    case 'readonly':
    case 'local':
      for (const t of texts) checkHistoryVariable(p === 'unset' ? `${t}=` : t, cmd, state);
      break;
    case 'journalctl':
      if (texts.some((t) => t.startsWith('--vacuum-'))) hit(state, cmd, { rule: 'anti-forensics', severity: 'high', confidence: 'medium', message: `${s} deletes systemd journal files.` });
      break;
    case 'chmod':
      checkSetuidMode(texts.find((t) => !/^-[a-zA-Z]+$/.test(t) || /^-[rwxst]+$/.test(t)), operands(r.args).slice(1), cmd, state);
      break;
    case 'dpkg-statoverride': {
      const ops = operands(r.args, new Set(['--root', '--admindir', '--instdir']));
      if (texts.includes('--add')) checkSetuidMode(ops[2], ops.slice(3), cmd, state);
      break;
    }
    case 'mkfifo':
      state.fifoLine ??= cmd.line;
      break;
    case 'mknod':
      if (texts.includes('p')) state.fifoLine ??= cmd.line;
      break;
    case 'nc':
    case 'ncat':
    case 'netcat':
      if (texts.some((t) => /^-[a-zA-Z]*[ec]$|^--(?:exec|sh-exec|lua-exec)(?:=|$)/.test(t))) {
        hit(state, cmd, { rule: 'reverse-shell', severity: 'critical', confidence: 'high', message: `${s} runs ${p} with a program attached to the connection (reverse shell).` });
      } else state.sockets.push({ line: cmd.line, evidence: evidenceOf(cmd) });
      break;
    case 'socat':
      if (texts.some((t) => /(?:^|[!,])(?:exec|system):/i.test(t))) {
        hit(state, cmd, { rule: 'reverse-shell', severity: 'critical', confidence: 'high', message: `${s} runs socat with a program attached to the connection (reverse shell).` });
      } else state.sockets.push({ line: cmd.line, evidence: evidenceOf(cmd) });
      break;
    case 'telnet':
      state.sockets.push({ line: cmd.line, evidence: evidenceOf(cmd) });
      break;
    case 'openssl':
      if (texts.includes('s_client')) state.sockets.push({ line: cmd.line, evidence: evidenceOf(cmd) });
      break;
    case 'apt-key':
      if (texts.includes('add') || texts.includes('adv')) hit(state, cmd, { rule: 'apt-source', severity: 'medium', confidence: 'medium', message: `${s} adds a key APT will trust for package signatures.` });
      break;
    case 'find':
      checkFindDelete(texts, cmd, state);
      break;
    default:
      break;
  }
  if (PYTHONS.has(p) || NODES.has(p) || OTHER_INTERPRETERS.has(p)) checkInlineReverseShell(r, cmd, state);
  if (DOWNLOADERS.has(p) || SOCKET_TOOLS.has(p)) checkUpload(r, cmd, state);
  for (const [path, how] of writeTargets(r)) checkWrite(path, how, cmd, state);
}

/** The code of `sh -c CODE`, `su [user] -c CODE`, `runuser … -c CODE`, `eval WORDS`. */
function nestedCode(r: Resolved): string | undefined {
  const texts = r.args.map((a) => a.text);
  if (r.program === 'eval') return texts.join(' ');
  if (SHELLS.has(r.program) || r.program === 'su' || r.program === 'runuser') {
    const flag = texts.findIndex((t) => /^-[a-z]*c$/.test(t) || t === '--command');
    if (flag !== -1) return texts[flag + 1];
  }
  return undefined;
}

function checkHistoryVariable(text: string, cmd: ShellCommand, state: State): void {
  const m = /^(HISTFILE|HISTSIZE|HISTFILESIZE)=(.*)$/.exec(text);
  if (m === null) return;
  // Unsetting HISTFILE or pointing it at /dev/null, or sizes of 0: nothing the session does is kept.
  if ((m[1] === 'HISTFILE' && (m[2] === '' || m[2] === '/dev/null')) || (m[1] !== 'HISTFILE' && m[2] === '0')) {
    hit(state, cmd, { rule: 'anti-forensics', severity: 'high', confidence: 'high', message: `${state.scope.subject} turns off shell history (${m[1]}).` });
  }
}

const ACCOUNT_VALUE_OPTIONS: ReadonlySet<string> = new Set([
  '-c', '-d', '-e', '-f', '-g', '-G', '-k', '-K', '-p', '-s', '-u', '-b', '-R', '-P', '-l', '-L',
  '--home', '--shell', '--ingroup', '--gid', '--uid', '--gecos', '--comment', '--firstuid', '--lastuid', '--firstgid', '--lastgid',
  '--conf', '--add_extra_groups', '--groups', '--password', '--home-dir', '--base-dir', '--expiredate', '--inactive', '--key', '--root', '--prefix', '--login',
]);

function checkAccount(r: Resolved, cmd: ShellCommand, state: State): void {
  const s = state.scope.subject;
  const texts = r.args.map((a) => a.text);
  const privileged = (value: string | undefined): boolean => value !== undefined && value.split(',').some((g) => PRIVILEGED_GROUPS.has(g.trim()));
  let reason: string | undefined;
  for (let i = 0; i < texts.length && reason === undefined; i++) {
    const t = texts[i] as string;
    const next = texts[i + 1];
    if (((t === '-u' || t === '--uid') && next === '0') || t === '-u0' || t === '--uid=0') reason = 'with user id 0';
    else if (t === '-o' || t === '--non-unique') reason = 'sharing an existing user id';
    else if ((t === '-g' || t === '--gid' || t === '--ingroup') && privileged(next)) reason = `into the ${next ?? ''} group`;
    else if (/^--(?:gid|ingroup)=/.test(t) && privileged(t.split('=')[1])) reason = `into the ${t.split('=')[1] ?? ''} group`;
    else if ((/^-[a-zA-Z]*G$/.test(t) || t === '--groups' || t === '--append-groups') && privileged(next)) reason = `into the ${next ?? ''} group`;
    else if (/^--groups=/.test(t) && privileged(t.slice('--groups='.length))) reason = `into the ${t.slice('--groups='.length)} group`;
    else if ((t === '-p' || t === '--password' || t.startsWith('--password=')) && (r.program === 'useradd' || r.program === 'usermod')) {
      hit(state, cmd, { rule: 'privileged-user', severity: 'high', confidence: 'high', message: `${s} sets an account password with ${r.program}.` });
    }
  }
  // `adduser USER GROUP`, `addgroup USER GROUP`, `gpasswd -a USER GROUP`: the last operand is the group.
  if (reason === undefined && r.program !== 'useradd' && r.program !== 'usermod') {
    const ops = operands(r.args, ACCOUNT_VALUE_OPTIONS);
    const group = ops[ops.length - 1];
    const adds = r.program === 'gpasswd' ? texts.some((t) => t === '-a' || t === '--add' || t === '-M' || t === '--members') : ops.length === 2;
    if (adds && privileged(group)) reason = `into the ${group ?? ''} group`;
  }
  if (reason !== undefined) {
    hit(state, cmd, { rule: 'privileged-user', severity: 'critical', confidence: 'high', message: `${s} adds a user ${reason}.`, details: { program: r.program } });
  }
}

function checkSystemctl(r: Resolved, cmd: ShellCommand, state: State): void {
  const ops = operands(r.args, new Set(['-H', '--host', '-M', '--machine', '--root', '-t', '--type', '-p', '--property', '-s', '--signal']));
  const verb = ops[0];
  const units = ops.slice(1).filter(isLiteral);
  if (verb === 'enable' || verb === 'reenable' || verb === 'link' || verb === 'add-wants' || verb === 'add-requires') {
    for (const unit of verb.startsWith('add-') ? units.slice(1) : units) {
      if (!isShippedService(state.scope.shipped, baseName(unit))) state.enabled.push({ unit: unitFileName(baseName(unit)), line: cmd.line, evidence: evidenceOf(cmd), how: `systemctl ${verb}` });
    }
  } else if (verb === 'stop' || verb === 'disable' || verb === 'mask' || verb === 'kill') {
    for (const unit of units) checkStopService(unit, cmd, state);
  }
}

function checkDebSystemd(r: Resolved, cmd: ShellCommand, state: State): void {
  const ops = operands(r.args);
  const verb = ops[0];
  const units = ops.slice(1).filter(isLiteral);
  if (verb === 'enable') {
    for (const unit of units) {
      if (!isShippedService(state.scope.shipped, baseName(unit))) state.enabled.push({ unit: unitFileName(baseName(unit)), line: cmd.line, evidence: evidenceOf(cmd), how: r.program });
    }
  } else if (verb === 'stop' || verb === 'disable' || verb === 'mask') {
    for (const unit of units) checkStopService(unit, cmd, state);
  }
}

function checkStopService(unit: string, cmd: ShellCommand, state: State): void {
  const name = baseName(unit).replace(/\.service$/, '');
  if (!SECURITY_SERVICES.has(name) || isShippedService(state.scope.shipped, name)) return;
  hit(state, cmd, { rule: 'disable-security', severity: 'high', confidence: 'high', message: `${state.scope.subject} stops or disables the ${name} service.`, details: { service: name } });
}

/** `update-rc.d NAME defaults|enable` for a service the package does not ship; stops of defences. */
function checkInitLinks(r: Resolved, cmd: ShellCommand, state: State): void {
  const ops = operands(r.args, new Set(['--root']));
  const [name, action] = r.program === 'chkconfig' ? [ops[0], ops[1] === 'on' ? 'enable' : ops[1] === 'off' ? 'disable' : ops[1]] : [ops[0], ops[1]];
  if (name === undefined || !isLiteral(name)) return;
  if (action === 'disable' || action === 'remove' || action === 'stop') {
    checkStopService(name, cmd, state);
    return;
  }
  if ((action === 'defaults' || action === 'enable' || action === 'start' || action === 'defaults-disabled') && !isShippedService(state.scope.shipped, name)) {
    state.enabled.push({ unit: unitFileName(name), line: cmd.line, evidence: evidenceOf(cmd), how: r.program });
  }
}

/** setuid by `chmod u+s`/`4755`, or by `dpkg-statoverride --add … 4755`: invisible in the payload. */
function checkSetuidMode(mode: string | undefined, targets: readonly string[], cmd: ShellCommand, state: State): void {
  if (mode === undefined) return;
  const numeric = /^0?([0-7])[0-7]{3}$/.exec(mode);
  const setuid = numeric !== null ? (Number(numeric[1]) & 4) !== 0 : /^[ugoa]*[+=][rwxXt]*s/.test(mode) && !/^g/.test(mode);
  const setgid = numeric !== null ? (Number(numeric[1]) & 2) !== 0 : /^[ugoa]*g[ugoa]*[+=][rwxXt]*s/.test(mode);
  if (!setuid && !setgid) return;
  const s = state.scope.subject;
  const bit = setuid ? 'setuid' : 'setgid';
  const dangerous = targets.find((t) => SHELLS.has(baseName(t)) || PYTHONS.has(baseName(t)) || OTHER_INTERPRETERS.has(baseName(t)) || /^\/(?:tmp|var\/tmp|dev\/shm)\//.test(t));
  if (dangerous !== undefined) {
    hit(state, cmd, { rule: 'setuid', severity: 'critical', confidence: 'high', message: `${s} makes ${dangerous} ${bit}: a root shell for anyone.` });
  } else if (setuid) {
    hit(state, cmd, { rule: 'setuid', severity: 'medium', confidence: 'medium', message: `${s} makes ${targets.join(', ') || 'a file'} setuid at install time.` });
  } else {
    // setgid directories (shared group folders) are ordinary.
    hit(state, cmd, { rule: 'setuid', severity: 'low', confidence: 'medium', message: `${s} makes ${targets.join(', ') || 'a file'} setgid at install time.` });
  }
}

/** `python -c 'import socket,os,pty;…dup2…'` and the Perl/PHP/Ruby equivalents. */
function checkInlineReverseShell(r: Resolved, cmd: ShellCommand, state: State): void {
  const flag = r.args.findIndex((a) => /^-[a-zA-Z]*[ceErR]$/.test(a.text));
  const code = flag === -1 ? undefined : r.args[flag + 1]?.text;
  if (code === undefined) return;
  if (/socket|TCPSocket|fsockopen|IO::Socket|\bnet\.(?:Socket|connect)/i.test(code) && /dup2|pty\.spawn|\/bin\/(?:ba|z|da)?sh|\bexec\s*\(|spawn\s*\(|STDIN->fdopen|proc_open|popen/.test(code)) {
    hit(state, cmd, { rule: 'reverse-shell', severity: 'critical', confidence: 'high', message: `${state.scope.subject} runs inline ${r.program} code that ties a shell to a socket (reverse shell).` });
  }
}

/** `iptables -F` (all chains or a built-in one) and `-P <chain> ACCEPT`; flushing a package's own chain is ordinary. */
function checkIptables(texts: readonly string[], cmd: ShellCommand, state: State): void {
  const flush = texts.findIndex((t) => t === '-F' || t === '--flush');
  const chain = flush === -1 ? undefined : texts[flush + 1];
  const flushesAll = flush !== -1 && (chain === undefined || chain.startsWith('-') || BUILTIN_CHAINS.has(chain));
  const policy = texts.findIndex((t) => t === '-P' || t === '--policy');
  const opensPolicy = policy !== -1 && texts[policy + 2] === 'ACCEPT';
  if (flushesAll || opensPolicy) {
    hit(state, cmd, { rule: 'disable-security', severity: 'high', confidence: 'high', message: `${state.scope.subject} ${flushesAll ? 'flushes the firewall rules' : 'sets a firewall chain to accept everything'}.` });
  }
}

/** `curl -d @/etc/shadow`, `curl -F f=@~/.ssh/id_rsa`, `nc host < /etc/shadow`: a credential store sent out. */
function checkUpload(r: Resolved, cmd: ShellCommand, state: State): void {
  const sources = [...r.args.map((a) => a.text.replace(/^(?:[\w-]+=)?[@<]/, '')), ...cmd.redirects.filter((x) => x.op === '<').map((x) => x.target.text)];
  for (const text of sources) {
    const store = credentialPathIn(text);
    if (store === undefined) continue;
    hit(state, cmd, { rule: 'exfiltration', severity: 'critical', confidence: 'high', message: `${state.scope.subject} sends the credential store ${store} over the network.` });
    return;
  }
}

/** `find /var/log … -delete` or `-exec rm|truncate|shred`. */
function checkFindDelete(texts: readonly string[], cmd: ShellCommand, state: State): void {
  const roots = texts.slice(0, texts.findIndex((t) => t.startsWith('-')) === -1 ? texts.length : texts.findIndex((t) => t.startsWith('-')));
  const deletes = texts.includes('-delete') || texts.some((t, i) => (t === '-exec' || t === '-execdir') && /^(?:rm|truncate|shred|\/bin\/rm|\/usr\/bin\/truncate)$/.test(texts[i + 1] ?? ''));
  if (deletes && roots.some((root) => /^\/var\/log\/?$/.test(root))) {
    hit(state, cmd, { rule: 'anti-forensics', severity: 'high', confidence: 'high', message: `${state.scope.subject} deletes or empties system logs.` });
  }
}

type WriteHow = 'append' | 'replace' | 'remove' | 'link';

/** Files a command writes or removes, from its arguments (redirects are handled separately). */
function writeTargets(r: Resolved): [string, WriteHow][] {
  const texts = r.args.map((a) => a.text);
  const last = (list: readonly string[]): string[] => (list.length >= 2 ? [list[list.length - 1] as string] : []);
  switch (r.program) {
    case 'tee':
      return operands(r.args).map((t) => [t, texts.some((x) => /^-[a-z]*a|^--append$/.test(x)) ? 'append' : 'replace']);
    case 'cp':
    case 'mv':
    case 'rsync':
      return last(operands(r.args, new Set(['-t', '--target-directory', '-S', '--suffix']))).map((t) => [t, 'replace']);
    case 'install':
      if (texts.some((t) => t === '-d' || t === '--directory')) return [];
      return last(operands(r.args, new Set(['-m', '--mode', '-o', '--owner', '-g', '--group', '-t', '--target-directory', '-S', '--suffix']))).map((t) => [t, 'replace']);
    case 'ln':
      return last(operands(r.args, new Set(['-t', '--target-directory', '-S', '--suffix']))).map((t) => [t, 'link']);
    case 'dd':
      return texts.filter((t) => t.startsWith('of=')).map((t) => [t.slice(3), 'replace']);
    case 'truncate':
      return operands(r.args, new Set(['-s', '--size', '-r', '--reference'])).map((t) => [t, 'replace']);
    case 'sed':
    case 'perl':
      if (!texts.some((t) => /^-[a-zA-Z]*i/.test(t) || t.startsWith('--in-place'))) return [];
      return texts.filter((t) => t.startsWith('/') || t.startsWith('~')).map((t) => [t, 'replace']);
    case 'rm':
    case 'shred':
    case 'unlink':
      return operands(r.args, new Set(['-n', '--iterations', '-s', '--size'])).map((t) => [t, 'remove']);
    default:
      return [];
  }
}

const HOME = String.raw`(?:/root|/home/[^/]+|~[^/]*|\$HOME|\$\{HOME\})`;
const AUTHORIZED_KEYS = new RegExp(String.raw`(?:^|/)\.ssh/authorized_keys2?$`);
const ADMIN_AUTHORIZED_KEYS = new RegExp(`^${HOME}/\\.ssh/authorized_keys2?$`);
const SHELL_STARTUP = new RegExp(`^${HOME}/\\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile|bash_logout)$`);
const HISTORY_FILE = /(?:^|\/)\.(?:bash|zsh|sh|ash|python|mysql|psql|lesshst)_?history$/;
const CRON_PATH = /^\/etc\/crontab$|^\/etc\/cron\.(?:d|hourly|daily|weekly|monthly)\/|^\/var\/spool\/cron\//;
const SYSTEM_LOG =
  /^\/var\/log(?:\/\*[^/]*)?\/?$|^\/var\/log\/(?:auth\.log|syslog|messages|secure|wtmp|btmp|lastlog|faillog|kern\.log|daemon\.log|user\.log|dpkg\.log|cron|audit|journal|apt)(?:[./][^/]*)*$|^\/(?:var\/)?run\/utmp$/;
const UNIT_DIR = /^\/(?:etc|lib|usr\/lib|run)\/systemd\/(?:system|user)\/(?:([^/]+)\.wants\/)?([^/]+)$/;

function checkWrite(rawPath: string, how: WriteHow, cmd: ShellCommand, state: State): void {
  const path = rawPath.replace(/\/{2,}/g, '/');
  const s = state.scope.subject;
  const add = (h: Omit<Hit, 'line' | 'evidence'>): void => hit(state, cmd, { ...h, details: { path: path.slice(0, 200) } });
  if (path === '/dev/null' || path === '') return;

  if (how === 'remove' || how === 'replace') {
    if (SYSTEM_LOG.test(path) && !(how === 'replace' && /\/$/.test(path))) {
      add({ rule: 'anti-forensics', severity: 'high', confidence: 'high', message: `${s} ${how === 'remove' ? 'deletes' : 'empties'} system logs (${path}).` });
      return;
    }
    if (HISTORY_FILE.test(path)) {
      add({ rule: 'anti-forensics', severity: 'high', confidence: 'high', message: `${s} ${how === 'remove' ? 'deletes' : 'overwrites'} shell history (${path}).` });
      return;
    }
  }
  if (how === 'remove') return;

  if (path === '/etc/ld.so.preload') {
    add({ rule: 'preload-hijack', severity: 'critical', confidence: 'high', message: `${s} writes /etc/ld.so.preload, which loads a library into every program.` });
  } else if (path === '/etc/sudoers') {
    add({ rule: 'sudoers', severity: 'critical', confidence: 'high', message: `${s} modifies /etc/sudoers.` });
  } else if (path.startsWith('/etc/sudoers.d/')) {
    add({ rule: 'sudoers', severity: 'high', confidence: 'high', message: `${s} writes sudo rules to ${path}.` });
  } else if (AUTHORIZED_KEYS.test(path)) {
    if (ADMIN_AUTHORIZED_KEYS.test(path)) add({ rule: 'authorized-keys', severity: 'critical', confidence: 'high', message: `${s} adds SSH keys to ${path}.` });
    else add({ rule: 'authorized-keys', severity: 'high', confidence: 'medium', message: `${s} writes the SSH authorized keys ${path}.` });
  } else if (/^\/etc\/(?:passwd|shadow|group|gshadow)-?$/.test(path)) {
    add({ rule: 'privileged-user', severity: 'high', confidence: 'high', message: `${s} edits ${path} directly instead of using adduser.` });
  } else if (CRON_PATH.test(path)) {
    add({ rule: 'persistence', severity: 'high', confidence: 'high', message: `${s} writes a cron entry (${path}) instead of shipping it.` });
  } else if (/^\/etc\/(?:rc\.d\/)?rc\.local$/.test(path)) {
    add({ rule: 'persistence', severity: 'high', confidence: 'high', message: `${s} writes ${path}, run at every boot.` });
  } else if (SHELL_STARTUP.test(path)) {
    add({ rule: 'persistence', severity: 'high', confidence: 'high', message: `${s} writes the shell start-up file ${path}.` });
  } else if (/^\/etc\/(?:profile|bash\.bashrc|environment|zsh\/zshrc)$|^\/etc\/profile\.d\/|^\/etc\/update-motd\.d\//.test(path)) {
    add({ rule: 'persistence', severity: 'high', confidence: 'medium', message: `${s} writes ${path}, run at every login.` });
  } else if (UNIT_DIR.test(path)) {
    const m = UNIT_DIR.exec(path);
    const unit = m?.[2] ?? '';
    if (m?.[1] !== undefined) {
      // A link in `x.target.wants/` is `systemctl enable` done by hand.
      if (!isShippedService(state.scope.shipped, unit)) state.enabled.push({ unit: unitFileName(unit), line: cmd.line, evidence: evidenceOf(cmd), how: 'a .wants link' });
    } else if (how !== 'link' && isLiteral(unit)) {
      state.writtenUnits.set(unitFileName(unit), cmd.line);
      add({ rule: 'persistence', severity: 'medium', confidence: 'medium', message: `${s} writes the systemd unit ${path} instead of shipping it.` });
    }
  } else if (path === '/etc/selinux/config') {
    add({ rule: 'disable-security', severity: 'high', confidence: 'medium', message: `${s} edits the SELinux configuration.` });
  } else if (/^\/etc\/pam\.d\/|^\/etc\/ssh\/sshd_config(?:\.d\/|$)/.test(path)) {
    add({ rule: 'auth-config', severity: 'high', confidence: 'medium', message: `${s} edits the login configuration ${path}.` });
  } else if (/^\/etc\/apt\/(?:sources\.list(?:\.d\/.*)?|trusted\.gpg(?:\.d\/.*)?)$/.test(path)) {
    add({ rule: 'apt-source', severity: 'medium', confidence: 'medium', message: `${s} adds an APT source or trusted key (${path}).` });
  }
}

/** Judgements that need the whole script: fifo + socket tool, enabled units it wrote itself. */
function finish(state: State): void {
  const s = state.scope.subject;
  if (state.fifoLine !== undefined) {
    for (const socket of state.sockets) {
      state.hits.push({ rule: 'reverse-shell', severity: 'critical', confidence: 'high', message: `${s} pairs a named pipe with a raw network connection (reverse shell).`, line: socket.line, evidence: socket.evidence });
    }
  }
  const reported = new Set<string>();
  for (const e of state.enabled) {
    if (reported.has(e.unit)) continue;
    reported.add(e.unit);
    if (state.writtenUnits.has(e.unit)) {
      state.hits.push({ rule: 'persistence', severity: 'high', confidence: 'high', message: `${s} writes the unit ${e.unit} itself and enables it (${e.how}).`, line: e.line, evidence: e.evidence, details: { unit: e.unit } });
    } else {
      state.hits.push({ rule: 'persistence', severity: 'medium', confidence: 'medium', message: `${s} enables ${e.unit}, which the package does not ship (${e.how}).`, line: e.line, evidence: e.evidence, details: { unit: e.unit } });
    }
  }
}
