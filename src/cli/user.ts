import { StockadeError } from '../errors.js';
import { arg, type Command, stringOption } from './command.js';
import { formatDate, table } from './output.js';
import { readNewPassword } from './password.js';
import { cliActor, withServices } from './services.js';

const userCreate: Command = {
  name: 'user create',
  summary: 'create a user',
  usage: 'NAME [--admin] [--email E] [--password-stdin]',
  description:
    'Creates a user (and its personal namespace NAME). The password is asked twice on a terminal, ' +
    'or read as one line from stdin; it is never a command-line argument.',
  options: {
    admin: { type: 'boolean' },
    email: { type: 'string' },
    'password-stdin': { type: 'boolean' },
  },
  args: { min: 1, max: 1 },
  examples: ['stockade user create alice --email alice@example.com', "printf '%s\\n' \"$PASSWORD\" | stockade user create ci-bot --password-stdin"],
  async run(ctx) {
    const name = arg(ctx, 0);
    const password = await readNewPassword({ fromStdin: ctx.options['password-stdin'] === true, stdin: ctx.stdin, stderr: ctx.stderr });
    const user = await withServices(ctx.configFile, ctx.env, ({ domain }) =>
      domain.accounts.createUser(cliActor(), { name, password, email: stringOption(ctx.options, 'email') ?? null, isAdmin: ctx.options.admin === true }),
    );
    ctx.out.result(user, () => `created ${user.isAdmin ? 'site admin' : 'user'} ${user.name}`);
    return 0;
  },
};

const userList: Command = {
  name: 'user list',
  summary: 'list users',
  usage: '',
  args: { min: 0, max: 0 },
  examples: ['stockade user list', 'stockade user list --json'],
  async run(ctx) {
    const users = await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.accounts.listUsers());
    ctx.out.result(users, () =>
      table(
        ['NAME', 'ADMIN', 'DISABLED', 'EMAIL', 'CREATED'],
        users.map((u) => [u.name, u.isAdmin ? 'yes' : 'no', u.disabled ? 'yes' : 'no', u.email ?? '-', formatDate(u.createdAt)]),
      ),
    );
    return 0;
  },
};

const userPassword: Command = {
  name: 'user password',
  summary: "set a user's password",
  usage: 'NAME [--password-stdin]',
  description: 'Sets a new password, asked twice on a terminal or read as one line from stdin.',
  options: { 'password-stdin': { type: 'boolean' } },
  args: { min: 1, max: 1 },
  examples: ['stockade user password admin'],
  async run(ctx) {
    const name = arg(ctx, 0);
    const password = await readNewPassword({ fromStdin: ctx.options['password-stdin'] === true, stdin: ctx.stdin, stderr: ctx.stderr });
    await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.accounts.setPassword(cliActor(), name, password));
    ctx.out.result({ name, passwordChanged: true }, () => `password of ${name} changed`);
    return 0;
  },
};

const userUnlock: Command = {
  name: 'user unlock',
  summary: 'end the lockout of an account after failed passwords or one-time passwords',
  usage: 'NAME',
  description: 'Clears the failure counts of the account. Lockouts also end by themselves (auth.lockout.maxDelaySeconds at most).',
  args: { min: 1, max: 1 },
  examples: ['stockade user unlock alice'],
  async run(ctx) {
    const name = arg(ctx, 0);
    const cleared = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      if (!(await domain.accounts.getUser(name))) throw new StockadeError('NOT_FOUND', [`user ${name}`]);
      return domain.throttle.unlock(cliActor(), name);
    });
    ctx.out.result({ user: name, cleared }, () => (cleared ? `unlocked ${name}` : `${name} had no failed attempts on record`));
    return 0;
  },
};

export const userCommands: Command[] = [userCreate, userList, userPassword, userUnlock];
