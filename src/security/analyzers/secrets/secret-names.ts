/** Normalizes an identifier for comparison: `AWS_Secret-Key` → `awssecretkey`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

// Names ending like these hold credentials: `apiKey`, `DB_PASSWORD`, `client_secret`.
const SECRET_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'secretkey',
  'secretkeybase',
  'token',
  'apikey',
  'accesskey',
  'privatekey',
  'authkey',
  'signingkey',
  'encryptionkey',
  'masterkey',
  'credential',
  'credentials',
];

// Names that end like a credential but hold something else: pagination cursors, cancellation
// handles, CSRF values rendered per request.
const NOT_SECRET = /(?:page|next|continuation|cancel|cancellation|sync|csrf|xsrf|resume|lexer|parser|syntax|sort|public|publishable|site)(?:token|key|secret)$/;

/** True for identifiers that name a credential in code and config files. */
export function isSecretName(name: string): boolean {
  const n = normalizeName(name);
  if (n.length === 0 || n.length > 80 || NOT_SECRET.test(n)) return false;
  return SECRET_SUFFIXES.some((suffix) => n.endsWith(suffix));
}

/** In `.env` files plain `…_KEY` names are credentials too (`STRIPE_KEY`, `OPENAI_KEY`). */
export function isEnvSecretName(name: string): boolean {
  const n = normalizeName(name);
  if (isSecretName(name)) return true;
  return (n.endsWith('key') || n.endsWith('pass') || n.endsWith('pwd')) && !NOT_SECRET.test(n) && !/(?:cache|partition|primary|foreign|idempotency)key$/.test(n);
}

// Default passwords of local services and tutorials; they protect nothing in a package.
const WEAK_DEFAULTS = new Set(['password', 'postgres', 'root', 'admin', 'secret', 'test', 'guest', 'default', 'pass', 'mysql', 'redis', 'user', 'changeme', 'letmein', 'qwerty', 'toor', 'none', 'null', 'undefined', 'true', 'false']);

export function isWeakDefault(value: string): boolean {
  return WEAK_DEFAULTS.has(value.toLowerCase());
}
