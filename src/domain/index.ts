import type { Config } from '../config/schema.js';
import type { DatabaseHandle } from '../store/db/connect.js';
import { createAccess } from './access.js';
import { createAdvisories } from './advisories.js';
import { createAccounts } from './accounts.js';
import { createAuditLog } from './audit.js';
import { createChangeBus } from './changes.js';
import { createPackages } from './packages.js';
import { createPolicies } from './policies.js';
import { createRepos } from './repos.js';
import { createScanResults } from './scan-results.js';
import { createTokens } from './tokens.js';

/** All domain services over one database; no HTTP here. */
export async function createDomain(handle: DatabaseHandle, config: Config, options: { onError?: (error: Error) => void } = {}) {
  const { db, dialect } = handle;
  const changes = await createChangeBus({ pgPool: handle.pgPool, sqlite: handle.sqlite, ...(options.onError ? { onError: options.onError } : {}) });
  const audit = createAuditLog({ dialect });
  const accounts = createAccounts({ db, audit, changes }, { passwordMinLength: config.auth.passwordMinLength });
  const tokens = createTokens({ db, audit, changes }, { maxLifetimeDays: config.auth.maxTokenLifetimeDays });
  const repos = createRepos({ db, audit, changes });
  const access = createAccess({ accounts });
  const packages = createPackages({ db, audit, changes });
  const policies = createPolicies({ db, audit, changes });
  const advisories = createAdvisories({ db });
  const scanResults = createScanResults({ db });
  return {
    db,
    dialect,
    changes,
    audit,
    accounts,
    tokens,
    repos,
    access,
    packages,
    policies,
    advisories,
    scanResults,
    async close() {
      await changes.close();
      await handle.close();
    },
  };
}

export type Domain = Awaited<ReturnType<typeof createDomain>>;
