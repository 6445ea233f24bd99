import type { Confidence } from '../../types.js';

/**
 * What the language checks observe in one unit of install-time code (a hook command, a file it
 * runs, inline code). Facts are neutral observations; `judge.ts` correlates the facts of a unit
 * into findings, because intent shows in combinations (network + credentials), not in one call.
 */
export type FactKind =
  /** A download piped or substituted straight into an interpreter. */
  | 'pipe-to-shell'
  /** A download written to a file that is then made executable or run. */
  | 'download-execute'
  /** Decoded (base64, hex, encoded-command) content handed to an interpreter or eval. */
  | 'decode-execute'
  /** curl, wget and similar. */
  | 'download-tool'
  /** ssh, DNS look-up tools, ping… */
  | 'network-tool'
  /** nc, socat, `/dev/tcp`: raw connections. */
  | 'socket-tool'
  /** A network module or API in code (http, net, dns, fetch, urllib, socket…). */
  | 'network-api'
  | 'credential-path'
  | 'secret-variable'
  /** The whole environment serialized (`env`, `printenv`, `JSON.stringify(process.env)`). */
  | 'env-dump'
  /** One host or user fact (hostname, user name, interfaces). */
  | 'sysinfo'
  | 'homedir'
  /** Decoding without observed execution. */
  | 'decode'
  | 'obfuscation'
  /** `node -e`, `python -c`, `sh -c` code that uses the network or decodes data. */
  | 'inline-code'
  /** A bundled native executable is run directly. */
  | 'binary';

export interface Fact {
  kind: FactKind;
  /** 1-based line in the unit's file; units located on package.json use the hook's line. */
  line?: number;
  /** A short excerpt for the finding. */
  evidence: string;
  /** What was matched, for the message: the tool, the credential path, the variable… */
  what?: string;
  confidence?: Confidence;
}

export type CodeLanguage = 'js' | 'shell' | 'python' | 'perl' | 'ruby' | 'powershell';

/** A file of the package that install-time code runs, to be inspected in turn. */
export interface RunRequest {
  /** Path relative to the package root, `/`-separated, as written (extension resolution later). */
  path: string;
  /** How it is run; `auto` when the file itself is executed (shebang decides). */
  language: CodeLanguage | 'auto';
  line?: number;
}

export interface Inspection {
  facts: Fact[];
  runs: RunRequest[];
}

export function emptyInspection(): Inspection {
  return { facts: [], runs: [] };
}

/** Adds `from` into `into`, optionally re-locating facts (inline code reports on its host line). */
export function mergeInspection(into: Inspection, from: Inspection, line?: number): void {
  for (const f of from.facts) into.facts.push(line === undefined ? f : { ...f, line });
  for (const r of from.runs) into.runs.push(line === undefined ? r : { ...r, line });
}

export const NETWORK_KINDS: ReadonlySet<FactKind> = new Set(['pipe-to-shell', 'download-execute', 'download-tool', 'network-tool', 'socket-tool', 'network-api']);
