import { advisoryCommands } from './advisories.js';
import { auditCommands } from './audit.js';
import { evictCommands } from './evict.js';
import { gcCommands } from './gc.js';
import type { Command } from './command.js';
import { mfaCommands } from './mfa.js';
import { orgCommands } from './org.js';
import { policyCommands } from './policy.js';
import { pushCommands } from './push.js';
import { repoCommands } from './repo.js';
import { scanCommands } from './scan.js';
import { serveCommands } from './serve.js';
import { tokenCommands } from './token.js';
import { userCommands } from './user.js';
import { yankCommands } from './yank.js';

/** Every `stockade` command, in the order help lists them. Nothing registers itself by import. */
export const commands: readonly Command[] = [
  ...serveCommands,
  ...userCommands,
  ...mfaCommands,
  ...orgCommands,
  ...tokenCommands,
  ...repoCommands,
  ...policyCommands,
  ...advisoryCommands,
  ...auditCommands,
  ...gcCommands,
  ...pushCommands,
  ...yankCommands,
  ...evictCommands,
  ...scanCommands,
];
