// Placeholder: being built by a helper.
import type { Command } from './command.js';

export const mfaCommands: readonly Command[] = [];
