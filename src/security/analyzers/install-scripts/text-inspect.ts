import { emptyInspection, type CodeLanguage, type FactKind, type Inspection } from './facts.js';
import { clip, credentialPathIn, isSecretVariable } from './patterns.js';

/**
 * Line-based token checks for languages we do not parse (Python, Perl, Ruby, PowerShell). They
 * only feed the same facts as the parsers; correlation in judge.ts keeps single tokens low.
 */

type TokenLanguage = Exclude<CodeLanguage, 'js' | 'shell'>;

interface TokenRule {
  kind: FactKind;
  pattern: RegExp;
}

const RULES: Record<TokenLanguage, readonly TokenRule[]> = {
  python: [
    { kind: 'network-api', pattern: /\b(?:import|from)\s+(?:urllib\d?|requests|socket|http\.client|httplib|httpx|aiohttp|ftplib|smtplib|paramiko|dns|websocket)\b|\burlopen\s*\(|\brequests\.(?:get|post|put|request)\s*\(|\bsocket\.socket\s*\(/ },
    { kind: 'decode', pattern: /\bb(?:64|32|16|85)decode\s*\(|\bcodecs\.decode\s*\(|\bzlib\.decompress\s*\(|\bmarshal\.loads\s*\(|\bbytes\.fromhex\s*\(/ },
    { kind: 'env-dump', pattern: /\b(?:dict|str|repr|json\.dumps)\s*\(\s*os\.environ\s*[),]|\bos\.environ\.items\s*\(|\bfor\s+\w+\s+in\s+os\.environ\b/ },
    { kind: 'sysinfo', pattern: /\bsocket\.gethostname\s*\(|\bgetpass\.getuser\s*\(|\bos\.getlogin\s*\(|\bplatform\.node\s*\(|\bos\.uname\s*\(/ },
    { kind: 'homedir', pattern: /\bexpanduser\s*\(|\bPath\.home\s*\(/ },
  ],
  perl: [
    { kind: 'network-api', pattern: /\b(?:IO::Socket|LWP|HTTP::Tiny|Net::HTTP|Net::FTP|Socket)\b/ },
    { kind: 'decode', pattern: /\bdecode_base64\b|\bunpack\s*\(?\s*["']m/ },
    { kind: 'env-dump', pattern: /\b(?:keys|values|each)\s*%ENV\b|%ENV\s*\)/ },
    { kind: 'sysinfo', pattern: /\bhostname\s*\(|\bgetpwuid\s*\(/ },
  ],
  ruby: [
    { kind: 'network-api', pattern: /\bNet::HTTP\b|\bopen-uri\b|\bURI\.open\b|\bTCPSocket\b|\bSocket\.tcp\b|\bFaraday\b|\bHTTParty\b/ },
    { kind: 'decode', pattern: /\bBase64\.(?:decode64|strict_decode64|urlsafe_decode64)\b|\.unpack1?\s*\(\s*["']m/ },
    { kind: 'env-dump', pattern: /\bENV\.(?:to_h|to_hash|to_a|inspect|each|map|keys)\b/ },
    { kind: 'sysinfo', pattern: /\bSocket\.gethostname\b|\bEtc\.getlogin\b/ },
  ],
  powershell: [
    { kind: 'network-api', pattern: /\b(?:Invoke-WebRequest|iwr|Invoke-RestMethod|irm|DownloadString|DownloadFile|DownloadData|Net\.WebClient|Start-BitsTransfer|Net\.Sockets)\b/i },
    { kind: 'decode', pattern: /\bFromBase64String\b/i },
    { kind: 'env-dump', pattern: /\b(?:Get-ChildItem|gci|ls|dir)\s+env:/i },
    { kind: 'sysinfo', pattern: /\$env:(?:COMPUTERNAME|USERNAME)\b/i },
  ],
};

/** Code that executes a string: paired with network or decoding it means a loader. */
const EXECUTES: Record<TokenLanguage, RegExp> = {
  python: /\b(?:exec|eval|compile)\s*\(/,
  perl: /\beval\b/,
  ruby: /\b(?:eval|instance_eval|class_eval)\b/,
  powershell: /\b(?:iex|Invoke-Expression)\b/i,
};

/** Environment reads of one variable, to spot secrets: `os.environ['NPM_TOKEN']`, `$ENV{X}`, `$env:X`. */
const VARIABLE_READ: Record<TokenLanguage, RegExp> = {
  python: /\bos\.(?:environ(?:\.get)?\s*[[(]|getenv\s*\()\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/g,
  perl: /\$ENV\{\s*["']?([A-Za-z_][A-Za-z0-9_]*)/g,
  ruby: /\bENV(?:\.fetch\s*\(|\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/g,
  powershell: /\$env:([A-Za-z_][A-Za-z0-9_]*)/gi,
};

/** Shell commands given as string literals: `os.system("curl … | sh")`, `system("…")`. */
const SHELL_CALL: Record<TokenLanguage, RegExp> = {
  python: /\b(?:os\.system|os\.popen|subprocess\.\w+)\s*\(\s*[rbuf]?(["'])((?:(?!\1)[^\\]|\\.){1,2000})\1/g,
  perl: /\b(?:system|exec|qx)\s*\(?\s*(["'])((?:(?!\1)[^\\]|\\.){1,2000})\1/g,
  ruby: /\b(?:system|exec|spawn|%x)\s*\(?\s*(["'])((?:(?!\1)[^\\]|\\.){1,2000})\1/g,
  powershell: /\b(?:Start-Process|cmd\s+\/c)\s+(["'])((?:(?!\1)[^\\]|\\.){1,2000})\1/gi,
};

/** Longest line looked at; minified or data lines beyond it are cut, keeping the work linear. */
const MAX_LINE = 4096;

export interface TextInspectOptions {
  language: TokenLanguage;
  /** Inspects a shell command found in a string literal. */
  shell(command: string, line: number): Inspection;
  lineOffset?: number;
}

export function inspectText(source: string, options: TextInspectOptions): Inspection {
  const out = emptyInspection();
  const { language } = options;
  const rules = RULES[language];
  const lines = source.split('\n');
  const offset = options.lineOffset ?? 0;
  for (let i = 0; i < lines.length; i++) {
    let text = (lines[i] as string).slice(0, MAX_LINE);
    const trimmed = text.trimStart();
    if (trimmed.startsWith('#') && !trimmed.startsWith('#!')) continue;
    text = text.trim();
    if (text === '') continue;
    const line = i + 1 + offset;
    const evidence = clip(text);
    for (const rule of rules) {
      if (rule.pattern.test(text)) out.facts.push({ kind: rule.kind, line, evidence, what: clip(rule.pattern.exec(text)?.[0] ?? '', 40) });
    }
    const path = credentialPathIn(text, 'line');
    if (path !== undefined) out.facts.push({ kind: 'credential-path', line, evidence, what: path, confidence: 'high' });
    for (const m of text.matchAll(VARIABLE_READ[language])) {
      if (m[1] !== undefined && isSecretVariable(m[1])) out.facts.push({ kind: 'secret-variable', line, evidence, what: m[1] });
    }
    const decodes = rules.some((r) => r.kind === 'decode' && r.pattern.test(text));
    if (EXECUTES[language].test(text)) {
      if (decodes) out.facts.push({ kind: 'decode-execute', line, evidence });
      else if (language === 'powershell' && rules.some((r) => r.kind === 'network-api' && r.pattern.test(text))) out.facts.push({ kind: 'pipe-to-shell', line, evidence });
    }
    for (const m of text.matchAll(SHELL_CALL[language])) {
      if (m[2] === undefined) continue;
      const inner = options.shell(m[2], line);
      out.facts.push(...inner.facts.map((f) => ({ ...f, line })));
    }
  }
  return out;
}
