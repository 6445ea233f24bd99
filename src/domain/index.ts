import type { Config } from '../config/schema.js';
import type { DatabaseHandle } from '../store/db/connect.js';
import { createAccess } from './access.js';
import { createAdvisories } from './advisories.js';
import { createApt } from './apt.js';
import { createRpm } from './rpm.js';
import { createAccounts } from './accounts.js';
import { createAuditLog } from './audit.js';
import { createChangeBus } from './changes.js';
import { createPackages } from './packages.js';
import { createPolicies } from './policies.js';
import { createRepoKeys } from './repo-keys.js';
import { createRepos } from './repos.js';
import { createScanResults } from './scan-results.js';
import { createMfa } from './mfa.js';
import { createSecretBox } from './secret-box.js';
import { createSessions } from './sessions.js';
import { createThrottle } from './throttle.js';
import { createTokens } from './tokens.js';
import { loadServerKey } from '../store/server-key.js';

/** All domain services over one database; no HTTP here. */
export interface DomainOptions {
  onError?: (error: Error) => void;
  /** Milliseconds since the epoch, for lockouts, one-time passwords and sessions; tests pass a fake clock. */
  now?: () => number;
}

export async function createDomain(handle: DatabaseHandle, config: Config, options: DomainOptions = {}) {
  const { db, dialect } = handle;
  const changes = await createChangeBus({ pgPool: handle.pgPool, sqlite: handle.sqlite, ...(options.onError ? { onError: options.onError } : {}) });
  const audit = createAuditLog({ dialect });
  const clock = options.now ? { now: options.now } : {};
  const box = createSecretBox(loadServerKey(config));
  const throttle = createThrottle({ db, audit }, { ...config.auth.lockout, ...clock });
  const accounts = createAccounts({ db, audit, changes, throttle }, { passwordMinLength: config.auth.passwordMinLength });
  const mfa = createMfa({ db, audit, changes, box, throttle }, { issuer: config.auth.totpIssuer, ...clock });
  const sessions = createSessions({ db, audit, changes }, { ...config.auth.sessions, ...clock });
  const tokens = createTokens(
    { db, audit, changes },
    { maxLifetimeDays: config.auth.maxTokenLifetimeDays, maxAutomationLifetimeDays: config.auth.maxAutomationTokenLifetimeDays, ...(options.onError ? { onError: options.onError } : {}) },
  );
  const repos = createRepos({ db, audit, changes });
  const repoKeys = createRepoKeys({ db, audit, changes, box }, { rsaBits: config.signing.rsaBits });
  const access = createAccess({ accounts, mfa });
  const packages = createPackages({ db, audit, changes });
  const policies = createPolicies({ db, audit, changes });
  const advisories = createAdvisories({ db });
  const scanResults = createScanResults({ db });
  const apt = createApt({ db });
  const rpm = createRpm({ db });
  return {
    db,
    dialect,
    changes,
    audit,
    accounts,
    throttle,
    mfa,
    sessions,
    tokens,
    repos,
    repoKeys,
    access,
    packages,
    policies,
    advisories,
    scanResults,
    apt,
    rpm,
    async close() {
      await changes.close();
      await handle.close();
    },
  };
}

export type Domain = Awaited<ReturnType<typeof createDomain>>;
