// Being built by a helper: see the interface in the session plan. Replaced wholesale.
import type { Db } from '../store/db/schema.js';
import type { AuditLog } from './audit.js';
import type { ChangeBus } from './changes.js';
import type { SecretBox } from './secret-box.js';
import type { Throttle } from './throttle.js';

export function createMfa(_deps: { db: Db; audit: AuditLog; changes: ChangeBus; box: SecretBox; throttle: Throttle }, _options: { issuer: string; now?: () => number }) {
  return {
    async isEnabled(_userId: number): Promise<boolean> {
      return false;
    },
    async ownerRequires(_ownerId: number): Promise<boolean> {
      return false;
    },
    async verify(_actor: unknown, _user: { id: number; name: string }, _code: string, _ip: string | null, _binding: string | null): Promise<void> {},
  };
}
export type Mfa = ReturnType<typeof createMfa>;
