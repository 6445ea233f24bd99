// Being built by a helper. Replaced wholesale.
import type { Db } from '../store/db/schema.js';
import type { AuditLog } from './audit.js';
import type { ChangeBus } from './changes.js';

export function createSessions(_deps: { db: Db; audit: AuditLog; changes: ChangeBus }, _options: { idleMinutes: number; absoluteHours: number; now?: () => number }) {
  return {};
}
export type Sessions = ReturnType<typeof createSessions>;
