// Placeholder: being built by a helper.
import type { ServerContext } from '../../http/context.js';
import type { ApiApp } from './guards.js';

export async function mfaRoutes(_app: ApiApp, _ctx: ServerContext): Promise<void> {}
