import { createInterface } from 'node:readline/promises';
import QRCode from 'qrcode';
import type { Domain } from '../domain/index.js';
import type { MfaUser } from '../domain/mfa.js';
import { StockadeError } from '../errors.js';
import { arg, CliError, type Command, type CommandContext, requireOption, stringOption } from './command.js';
import { formatDate, table } from './output.js';
import { cliActor, withServices } from './services.js';

async function requireUser(domain: Domain, name: string): Promise<MfaUser> {
  const user = await domain.accounts.getUser(name);
  if (!user) throw new StockadeError('NOT_FOUND', [`user ${name}`]);
  return { id: user.id, name: user.name };
}

/** One line from the terminal; the code is short-lived and shown by the app anyway, so it is echoed. */
async function askCode(ctx: CommandContext): Promise<string> {
  const terminal = createInterface({ input: ctx.stdin, output: ctx.stderr, terminal: true });
  try {
    const answer = (await terminal.question('code from the authenticator app: ')).trim();
    if (answer === '') throw new CliError('no code entered');
    return answer;
  } finally {
    terminal.close();
  }
}

function recoveryCodesText(user: string, codes: string[]): string {
  return [
    `two-factor authentication is on for ${user}.`,
    'Recovery codes (each works once; store them somewhere safe, they are not shown again):',
    ...codes.map((code) => `  ${code}`),
  ].join('\n');
}

const mfaStatus: Command = {
  name: 'mfa status',
  summary: "show a user's two-factor authentication",
  usage: 'USER',
  args: { min: 1, max: 1 },
  examples: ['stockade mfa status alice', 'stockade mfa status alice --json'],
  async run(ctx) {
    const name = arg(ctx, 0);
    const status = await withServices(ctx.configFile, ctx.env, async ({ domain }) => domain.mfa.status((await requireUser(domain, name)).id));
    ctx.out.result({ user: name, ...status }, () => {
      if (status.enabled) return `${name}: enabled since ${formatDate(status.confirmedAt)}, ${status.recoveryCodesLeft} recovery codes left`;
      return `${name}: ${status.pending ? 'enrollment started, waiting for the first code' : 'not enabled'}`;
    });
    return 0;
  },
};

const mfaEnroll: Command = {
  name: 'mfa enroll',
  summary: 'set up an authenticator app for a user',
  usage: 'USER [--code C]',
  description:
    'Without --code: starts an enrollment and shows its QR code, otpauth URI and secret; on a terminal it ' +
    'then asks for the first code, otherwise finish with `stockade mfa enroll USER --code C`. ' +
    'With --code: confirms the enrollment started before. The 10 recovery codes are printed once.',
  options: { code: { type: 'string' } },
  args: { min: 1, max: 1 },
  examples: ['stockade mfa enroll alice', 'stockade mfa enroll alice --code 123456'],
  async run(ctx) {
    const name = arg(ctx, 0);
    const givenCode = stringOption(ctx.options, 'code');
    const interactive = givenCode === undefined && ctx.stdin.isTTY === true && !ctx.out.json;
    const result = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      const user = await requireUser(domain, name);
      if (givenCode !== undefined) {
        if (!(await domain.mfa.status(user.id)).pending) throw new CliError(`no enrollment of ${name} waits for a code: run \`stockade mfa enroll ${name}\` first`);
        return { user: name, enabled: true, ...(await domain.mfa.confirmEnrollment(cliActor(), user, givenCode)) };
      }
      const { secret, uri } = await domain.mfa.startEnrollment(cliActor(), user);
      if (!ctx.out.json) {
        // The setup goes to stderr, like every prompt: stdout stays the command's result.
        ctx.out.note(await QRCode.toString(uri, { type: 'terminal', small: true }));
        ctx.out.note(`Scan the QR code with an authenticator app, or open ${uri}`);
        ctx.out.note(`or type the secret by hand: ${secret}`);
      }
      if (!interactive) return { user: name, enabled: false, pending: true, secret, uri };
      const code = await askCode(ctx);
      return { user: name, enabled: true, ...(await domain.mfa.confirmEnrollment(cliActor(), user, code)) };
    });
    ctx.out.result(result, () =>
      'recoveryCodes' in result ? recoveryCodesText(name, result.recoveryCodes) : `then confirm it with: stockade mfa enroll ${name} --code <code from the app>`,
    );
    return 0;
  },
};

const mfaDisable: Command = {
  name: 'mfa disable',
  summary: "turn a user's two-factor authentication off with a current code",
  usage: 'USER --code C',
  description: 'C is a code from the authenticator app or a recovery code. Without a code, an admin uses `stockade mfa reset`.',
  options: { code: { type: 'string' } },
  args: { min: 1, max: 1 },
  examples: ['stockade mfa disable alice --code 123456'],
  async run(ctx) {
    const name = arg(ctx, 0);
    const code = requireOption(ctx.options, 'code');
    await withServices(ctx.configFile, ctx.env, async ({ domain }) => domain.mfa.disable(cliActor(), await requireUser(domain, name), code));
    ctx.out.result({ user: name, enabled: false }, () => `two-factor authentication is off for ${name}`);
    return 0;
  },
};

const mfaReset: Command = {
  name: 'mfa reset',
  summary: "remove a user's authenticator without a code (lost device)",
  usage: 'USER',
  description: 'For a user who lost both the authenticator and the recovery codes; recorded in the audit log as mfa.reset.',
  args: { min: 1, max: 1 },
  examples: ['stockade mfa reset alice'],
  async run(ctx) {
    const name = arg(ctx, 0);
    await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.mfa.reset(cliActor(), name));
    ctx.out.result({ user: name, enabled: false }, () => `two-factor authentication of ${name} was reset; they can enroll again`);
    return 0;
  },
};

const mfaRequire: Command = {
  name: 'mfa require',
  summary: 'require two-factor authentication of every member of an owner',
  usage: 'OWNER [--off]',
  description: 'Members without a confirmed authenticator can no longer change anything of OWNER. --off lifts the requirement.',
  options: { off: { type: 'boolean' } },
  args: { min: 1, max: 1 },
  examples: ['stockade mfa require acme', 'stockade mfa require acme --off'],
  async run(ctx) {
    const owner = arg(ctx, 0);
    const required = ctx.options.off !== true;
    const nonCompliant = await withServices(ctx.configFile, ctx.env, async ({ domain }) => {
      await domain.mfa.setOwnerRequirement(cliActor(), owner, required);
      return domain.mfa.nonCompliant(owner);
    });
    ctx.out.result({ owner, required, nonCompliant }, () => {
      if (!required) return `${owner} no longer requires two-factor authentication`;
      const missing = nonCompliant.length === 0 ? 'every member has it' : `${nonCompliant.length} member(s) without it: ${nonCompliant.map((m) => m.user).join(', ')}`;
      return `${owner} now requires two-factor authentication; ${missing}`;
    });
    return 0;
  },
};

const mfaNonCompliant: Command = {
  name: 'mfa noncompliant',
  summary: 'list members of an owner without two-factor authentication',
  usage: 'OWNER',
  args: { min: 1, max: 1 },
  examples: ['stockade mfa noncompliant acme', 'stockade mfa noncompliant acme --json'],
  async run(ctx) {
    const owner = arg(ctx, 0);
    const members = await withServices(ctx.configFile, ctx.env, ({ domain }) => domain.mfa.nonCompliant(owner));
    ctx.out.result(members, () =>
      members.length === 0
        ? `every member of ${owner} has two-factor authentication`
        : table(
            ['USER', 'ROLE'],
            members.map((m) => [m.user, m.role]),
          ),
    );
    return 0;
  },
};

export const mfaCommands: readonly Command[] = [mfaStatus, mfaEnroll, mfaDisable, mfaReset, mfaRequire, mfaNonCompliant];
