import type { Command } from './command.js';
import { withServices } from './services.js';

const auditVerify: Command = {
  name: 'audit verify',
  summary: 'check the hash chain of the audit log',
  usage: '',
  description:
    'Recomputes every entry hash and link. Exit 0 when the chain is intact; exit 1 naming the first ' +
    'entry that was altered, removed or inserted.',
  args: { min: 0, max: 0 },
  examples: ['stockade audit verify', 'stockade audit verify --json'],
  async run(ctx) {
    const result = await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.audit.verify(domain.db));
    ctx.out.result(result, () => (result.ok ? `audit log intact: ${result.checked} entries checked` : ''));
    if (result.ok) return 0;
    const broken = result.firstBroken;
    ctx.out.note(`stockade: audit log broken at entry ${broken?.id ?? '?'}: ${broken?.reason ?? 'unknown reason'}`);
    return 1;
  },
};

export const auditCommands: Command[] = [auditVerify];
