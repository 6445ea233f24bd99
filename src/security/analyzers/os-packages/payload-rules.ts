import type { ContentView, ViewEntry } from '../../types.js';
import { OTHER_INTERPRETERS, PYTHONS, SHELLS } from '../install-scripts/patterns.js';
import type { Hit } from './findings.js';
import { ownedByRoot, type PayloadOwner } from './package-contents.js';
import { inspectShellCode, type ScriptScope } from './script-rules.js';

/**
 * Checks on the files an OS package installs: permission bits that hand out privileges, and
 * files dropped where the system picks them up on its own (preload, sudoers, root's SSH keys,
 * cron, login scripts). Files the system runs are inspected with the script rules too, since a
 * cron job is a maintainer script that runs every day.
 */

export interface PayloadScope {
  owners: ReadonlyMap<string, PayloadOwner>;
  /** Shell inspection of payload files the system runs. */
  script: Omit<ScriptScope, 'subject'>;
  checkDeadline(): void;
  /** Paths of the view that are not payload (Debian's `DEBIAN/` control members). */
  isControl(path: string): boolean;
}

export interface PayloadHit extends Hit {
  file: string;
}

/** Where setuid programs normally live; elsewhere one is unusual enough to look at. */
const STANDARD_PROGRAM_DIR = /^(?:usr\/)?s?bin\/[^/]+$|^(?:usr\/)?(?:lib|lib32|lib64|libexec)\//;
const CRON_TABLE = /^etc\/cron\.d\/[^/]+$|^etc\/crontab$/;
const CRON_SCRIPT = /^etc\/cron\.(?:hourly|daily|weekly|monthly)\/[^/]+$/;
const USER_CRONTAB = /^var\/spool\/cron\/(?:crontabs\/)?[^/]+$/;
const LOGIN_SCRIPT = /^etc\/profile\.d\/[^/]+$|^etc\/update-motd\.d\/[^/]+$/;
const HOME_DIR = /^(?:root|home\/[^/]+)\//;
/** Files bigger than this among the run-by-the-system ones are listed, not inspected. */
const MAX_INSPECTED_BYTES = 512 * 1024;

export function inspectPayload(view: ContentView, scope: PayloadScope): PayloadHit[] {
  const hits: PayloadHit[] = [];
  let seen = 0;
  for (const entry of view.entries) {
    if (++seen % 1000 === 0) scope.checkDeadline();
    if (scope.isControl(entry.path)) continue;
    const owner = scope.owners.get(entry.path);
    checkModes(entry, owner, hits);
    if (entry.type === 'file' || entry.type === 'symlink' || entry.type === 'link') checkLocation(view, entry, scope, hits);
  }
  for (const [path, owner] of scope.owners) {
    if ((owner.type !== 'char' && owner.type !== 'block') || owner.ghost === true) continue;
    hits.push({
      file: path,
      rule: 'device-node',
      severity: 'high',
      confidence: 'medium',
      message: `The package installs the ${owner.type === 'char' ? 'character' : 'block'} device node ${path}; devices are made by udev, not shipped.`,
      details: { mode: (owner.mode ?? 0).toString(8) },
    });
  }
  return hits;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function checkModes(entry: ViewEntry, owner: PayloadOwner | undefined, hits: PayloadHit[]): void {
  const mode = entry.mode & 0o7777;
  const path = entry.path;
  const worldWritable = (mode & 0o002) !== 0;
  if (entry.type === 'file' && (mode & 0o6000) !== 0) {
    const bits = (mode & 0o4000) !== 0 ? ((mode & 0o2000) !== 0 ? 'setuid and setgid' : 'setuid') : 'setgid';
    const name = path.split('/').pop() ?? path;
    const base = { file: path, rule: 'setuid' as const, details: { mode: octal(mode) }, evidence: `${octal(mode)} ${path}` };
    if (worldWritable || SHELLS.has(name) || PYTHONS.has(name) || OTHER_INTERPRETERS.has(name)) {
      const why = worldWritable ? 'and world-writable: anyone can replace it' : 'and a shell or interpreter: a root shell for anyone';
      hits.push({ ...base, severity: 'critical', confidence: 'high', message: `The file ${path} is ${bits} ${why}.` });
    } else if (STANDARD_PROGRAM_DIR.test(path)) {
      hits.push({ ...base, severity: 'medium', confidence: 'high', message: `The file ${path} is installed ${bits}.` });
    } else if (ownedByRoot(owner)) {
      hits.push({ ...base, severity: 'high', confidence: 'medium', message: `The file ${path} is installed ${bits} root outside the usual program directories.` });
    } else {
      hits.push({ ...base, severity: 'medium', confidence: 'medium', message: `The file ${path} is installed ${bits} for user ${owner?.uname || String(owner?.uid ?? '')}.` });
    }
    return;
  }
  // Symlinks are always 0777; the sticky bit makes a shared directory safe (/tmp).
  if (!worldWritable || entry.type === 'symlink' || entry.type === 'link') return;
  if (entry.type === 'directory' && (mode & 0o1000) !== 0) return;
  const executable = entry.type === 'file' && (mode & 0o111) !== 0;
  const systemPath = /^(?:etc|usr|bin|sbin|lib|lib32|lib64|libexec|boot|root)(?:\/|$)/.test(path);
  hits.push({
    file: path,
    rule: 'world-writable',
    severity: executable || (systemPath && entry.type === 'file') ? 'high' : 'medium',
    confidence: executable || (systemPath && entry.type === 'file') ? 'medium' : 'high',
    message:
      entry.type === 'directory'
        ? `The directory ${path} is world-writable without the sticky bit: anyone can replace files in it.`
        : `The file ${path} is world-writable${executable ? ' and executable' : ''}: any local user can change it.`,
    details: { mode: octal(mode) },
    evidence: `${octal(mode)} ${path}`,
  });
}

function checkLocation(view: ContentView, entry: ViewEntry, scope: PayloadScope, hits: PayloadHit[]): void {
  const path = entry.path;
  const add = (hit: Hit): void => {
    hits.push({ ...hit, file: path });
  };
  if (path === 'etc/ld.so.preload') {
    add({ rule: 'preload-hijack', severity: 'critical', confidence: 'high', message: 'The package installs /etc/ld.so.preload, which loads a library into every program.', evidence: firstLines(view, path) });
    return;
  }
  if (HOME_DIR.test(path)) {
    if (/\/\.ssh\/authorized_keys2?$/.test(path)) {
      add({ rule: 'authorized-keys', severity: 'critical', confidence: 'high', message: `The package installs SSH authorized keys (${path}): a remote login for whoever holds the key.` });
    } else if (/^root\/\.ssh\//.test(path)) {
      add({ rule: 'authorized-keys', severity: 'high', confidence: 'medium', message: `The package installs ${path} into root's SSH directory.` });
    } else if (/\/\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile)$/.test(path)) {
      add({ rule: 'persistence', severity: 'high', confidence: 'medium', message: `The package installs the shell start-up file ${path}.` });
    }
    return;
  }
  if (path === 'etc/sudoers' || path.startsWith('etc/sudoers.d/')) {
    checkSudoers(view, path, add);
    return;
  }
  if (path === 'etc/rc.local' || path === 'etc/rc.d/rc.local') {
    add({ rule: 'persistence', severity: 'medium', confidence: 'medium', message: `The package installs ${path}, run as root at every boot.` });
    inspectRunFile(view, path, `the boot script ${path}`, scope, hits);
    return;
  }
  if (CRON_TABLE.test(path) || USER_CRONTAB.test(path)) {
    if (USER_CRONTAB.test(path)) {
      add({ rule: 'persistence', severity: 'high', confidence: 'medium', message: `The package installs a user crontab (${path}); Debian Policy forbids it.` });
    } else {
      add({ rule: 'cron-job', severity: 'low', confidence: 'medium', message: `The package installs the cron table ${path}.` });
    }
    inspectCronTable(view, path, !USER_CRONTAB.test(path), scope, hits);
    return;
  }
  if (CRON_SCRIPT.test(path)) {
    add({ rule: 'cron-job', severity: 'low', confidence: 'medium', message: `The package installs the periodic cron script ${path}.` });
    inspectRunFile(view, path, `the cron script ${path}`, scope, hits);
    return;
  }
  if (LOGIN_SCRIPT.test(path)) {
    add({ rule: 'profile-script', severity: 'info', confidence: 'high', message: `The package installs ${path}, run at every login.` });
    inspectRunFile(view, path, `the login script ${path}`, scope, hits);
  }
}

/** Grants of every command (`ALL`) are a takeover; narrower rules are a reviewer's call. */
function checkSudoers(view: ContentView, path: string, add: (hit: Hit) => void): void {
  const text = view.text(path);
  const rules = (text ?? '')
    .split('\n')
    .map((line, index) => ({ line: index + 1, text: line.trim() }))
    .filter((l) => l.text !== '' && !(l.text.startsWith('#') && !/^#include/.test(l.text)));
  if (text !== undefined && rules.length === 0) {
    add({ rule: 'sudoers', severity: 'info', confidence: 'high', message: `The package installs ${path}, which holds only comments.` });
    return;
  }
  const grantsAll = rules.find((l) => /=\s*(?:\([^)]*\)\s*)?(?:[A-Z_]+:\s*)*ALL\s*$/.test(l.text) && !/^Defaults/.test(l.text));
  if (grantsAll !== undefined) {
    add({ rule: 'sudoers', severity: 'critical', confidence: 'high', message: `The sudo rules in ${path} grant every command.`, line: grantsAll.line, evidence: grantsAll.text });
  } else {
    const first = rules[0];
    add({ rule: 'sudoers', severity: 'high', confidence: 'medium', message: `The package installs sudo rules (${path}).`, ...(first !== undefined ? { line: first.line, evidence: first.text } : {}) });
  }
}

function firstLines(view: ContentView, path: string): string {
  return (view.text(path) ?? '').split('\n').slice(0, 3).join(' ').trim();
}

function runScope(scope: PayloadScope, subject: string): ScriptScope {
  return { ...scope.script, subject };
}

/** A cron script or login script: the whole file is shell. */
function inspectRunFile(view: ContentView, path: string, subject: string, scope: PayloadScope, hits: PayloadHit[]): void {
  const entry = view.get(path);
  const text = entry !== undefined && entry.size <= MAX_INSPECTED_BYTES ? view.text(path) : undefined;
  if (text === undefined) return;
  if (/^#!\s*\S*(?:perl|python)/.test(text)) return;
  for (const hit of inspectShellCode(text, runScope(scope, subject))) hits.push({ ...hit, file: path });
}

/**
 * A cron table: `min hour dom mon dow [user] command`, `@reboot [user] command`, `NAME=value`
 * lines and comments (crontab(5)). Each command is inspected on its own line.
 */
function inspectCronTable(view: ContentView, path: string, hasUserField: boolean, scope: PayloadScope, hits: PayloadHit[]): void {
  const entry = view.get(path);
  const text = entry !== undefined && entry.size <= MAX_INSPECTED_BYTES ? view.text(path) : undefined;
  if (text === undefined) return;
  const subject = `the cron job in ${path}`;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line)) return;
    const fields = line.split(/\s+/);
    const timeFields = fields[0]?.startsWith('@') ? 1 : 5;
    const skip = timeFields + (hasUserField ? 1 : 0);
    // Keep the command's own spacing: cut the schedule (and user) fields off the front.
    const match = new RegExp(`^(?:\\S+\\s+){${skip}}(.*)$`).exec(line);
    const command = match?.[1];
    if (command === undefined || command === '') return;
    const lineNumber = index + 1;
    const user = hasUserField ? fields[timeFields] : undefined;
    for (const hit of inspectShellCode(command.replace(/(?<!\\)%.*$/, ''), runScope(scope, subject), index)) hits.push({ ...hit, file: path });
    const program = /^\S+/.exec(command)?.[0] ?? '';
    // Jobs run from scratch or hidden directories are what droppers schedule.
    if (/^\/(?:tmp|var\/tmp|dev\/shm)\/|\/\.[^/]+\//.test(program)) {
      hits.push({
        file: path,
        rule: 'persistence',
        severity: 'high',
        confidence: 'high',
        message: `${subject} runs ${program} from a temporary or hidden directory${user !== undefined ? ` as ${user}` : ''}.`,
        line: lineNumber,
        evidence: line,
      });
    }
  });
}
