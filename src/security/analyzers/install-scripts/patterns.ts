/**
 * Vocabulary shared by the shell, JavaScript and Python checks: which programs interpret code,
 * which reach the network, which paths and variables hold credentials.
 */

export const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'mksh', 'fish', 'csh', 'tcsh', 'busybox']);
export const NODES: ReadonlySet<string> = new Set(['node', 'nodejs', 'bun', 'deno']);
export const PYTHONS: ReadonlySet<string> = new Set(['python', 'python2', 'python3', 'py', 'pypy', 'pypy3']);
export const POWERSHELLS: ReadonlySet<string> = new Set(['powershell', 'pwsh']);
export const OTHER_INTERPRETERS: ReadonlySet<string> = new Set(['perl', 'ruby', 'php', 'lua', 'osascript', 'cmd']);

export function isInterpreter(program: string): boolean {
  return SHELLS.has(program) || NODES.has(program) || PYTHONS.has(program) || POWERSHELLS.has(program) || OTHER_INTERPRETERS.has(program);
}

/** Programs whose job is to fetch a URL. */
export const DOWNLOADERS: ReadonlySet<string> = new Set(['curl', 'wget', 'fetch', 'aria2c', 'lwp-download', 'lwp-request', 'invoke-webrequest', 'iwr', 'invoke-restmethod', 'irm', 'bitsadmin']);

/** Raw-socket tools: the classic reverse-shell and exfiltration kit. */
export const SOCKET_TOOLS: ReadonlySet<string> = new Set(['nc', 'ncat', 'netcat', 'socat', 'telnet']);

/** Other programs that talk to remote hosts (DNS look-ups carry data out too). */
export const REMOTE_TOOLS: ReadonlySet<string> = new Set(['ssh', 'scp', 'sftp', 'ftp', 'tftp', 'nslookup', 'dig', 'host', 'ping', 'ping6']);

/** Wrappers that run the command given after them. */
export const WRAPPERS: ReadonlySet<string> = new Set(['sudo', 'exec', 'command', 'nohup', 'time', 'nice', 'builtin', 'stdbuf', 'doas', 'xargs']);

/** Credential stores a package has no business reading at install time. */
const CREDENTIAL_NAMES = String.raw`(\.npmrc|\.ssh(?=$|[/\\"'])|id_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws(?=$|[/\\"'])|\.azure(?=$|[/\\"'])|\.kube(?=$|[/\\"'])|\.docker[/\\]config\.json|\.gnupg|\.netrc|\.pypirc|\.git-credentials|\.bash_history|\.zsh_history|\.config[/\\]gcloud|/etc/(?:passwd|shadow)|Login Data|Local Storage[/\\]leveldb|wallet\.dat|\.ethereum[/\\]keystore)`;
/** In a string value (a JS literal, a shell word) the name starts the value or a path segment. */
const IN_VALUE = new RegExp(String.raw`(?:^|[/\\~])` + CREDENTIAL_NAMES);
/** In a line of source, a quote may open the value too. */
const IN_LINE = new RegExp(String.raw`(?:^|[/\\~"'])` + CREDENTIAL_NAMES);

/**
 * The credential store named in `text`, if any. Prose that merely mentions one (`add it to your
 * .npmrc`) does not count: the name must start the value or a path segment.
 */
export function credentialPathIn(text: string, source: 'value' | 'line' = 'value'): string | undefined {
  if (text.length > 4096) text = text.slice(0, 4096);
  const m = (source === 'value' ? IN_VALUE : IN_LINE).exec(text);
  return m?.[1];
}

/** Environment variable names that hold secrets: tokens, passwords, keys. */
const SECRET_VARIABLE = /TOKEN|SECRET|PASSW|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|(?:^|_)AUTH(?:$|_|TOKEN)/i;

export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLE.test(name);
}

/** Shortens text for `evidence`, which must stay ≤ 200 characters. */
export function clip(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
