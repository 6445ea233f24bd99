import type { Role } from '../domain/accounts.js';
import { StockadeError } from '../errors.js';
import { arg, type Command, requireOption, UsageError } from './command.js';
import { cliActor, withServices } from './services.js';

const ROLES: readonly Role[] = ['admin', 'write', 'read'];

const orgCreate: Command = {
  name: 'org create',
  summary: 'create an organization',
  usage: 'NAME --admin USER',
  description: 'Creates an organization namespace with USER as its first admin.',
  options: { admin: { type: 'string' } },
  args: { min: 1, max: 1 },
  examples: ['stockade org create acme --admin alice'],
  async run(ctx) {
    const name = arg(ctx, 0);
    const adminName = requireOption(ctx.options, 'admin');
    const org = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const admin = await domain.accounts.getUser(adminName);
      if (!admin) throw new StockadeError('NOT_FOUND', [`user ${adminName}`]);
      return domain.accounts.createOrg(cliActor(), { name, adminUserId: admin.id });
    });
    ctx.out.result({ ...org, admin: adminName }, () => `created organization ${org.name} with admin ${adminName}`);
    return 0;
  },
};

const orgMember: Command = {
  name: 'org member',
  summary: "set or remove a user's role on an owner",
  usage: 'OWNER USER ROLE|--remove',
  description: 'ROLE is admin, write or read. Works on organizations and on personal namespaces.',
  options: { remove: { type: 'boolean' } },
  args: { min: 2, max: 3 },
  examples: ['stockade org member acme bob write', 'stockade org member acme bob --remove'],
  async run(ctx) {
    const owner = arg(ctx, 0);
    const user = arg(ctx, 1);
    const rawRole = ctx.args[2];
    const remove = ctx.options.remove === true;
    if (remove === (rawRole !== undefined)) throw new UsageError('give either a ROLE (admin, write, read) or --remove');
    if (rawRole !== undefined && !ROLES.includes(rawRole as Role)) throw new UsageError(`unknown role "${rawRole}" (use admin, write or read)`);
    const role = remove ? null : (rawRole as Role);
    await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.accounts.setMember(cliActor(), { owner, user, role }));
    ctx.out.result({ owner, user, role }, () => (role ? `${user} is now ${role} on ${owner}` : `removed ${user} from ${owner}`));
    return 0;
  },
};

export const orgCommands: Command[] = [orgCreate, orgMember];
