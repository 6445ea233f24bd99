import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { isStockadeError } from '../errors.js';
import { CliError, type Command, type OptionsSpec, UsageError } from './command.js';
import { commands } from './commands.js';
import { createOutput } from './output.js';

export interface CliIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const GLOBAL_OPTIONS: OptionsSpec = {
  json: { type: 'boolean' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = [
  'global options:',
  '  --config FILE  configuration file (default: $STOCKADE_CONFIG, else ./stockade.yaml if present)',
  '  --json         machine-readable output on stdout',
  '  -h, --help     help for a command',
].join('\n');

function commandHelp(command: Command): string {
  const parts = [`usage: stockade ${command.name}${command.usage ? ` ${command.usage}` : ''}`, '', command.description ?? command.summary];
  if (command.examples?.length) parts.push('', 'examples:', ...command.examples.map((e) => `  ${e}`));
  parts.push('', GLOBAL_HELP);
  return parts.join('\n') + '\n';
}

function generalHelp(list: readonly Command[] = commands): string {
  const width = Math.max(...list.map((c) => c.name.length));
  const lines = list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['usage: stockade <command> [arguments] [options]', '', 'commands:', ...lines, '', GLOBAL_HELP, '', 'stockade help <command> shows the arguments and examples of a command.'].join('\n') + '\n';
}

function usageHint(command: Command): string {
  return `usage: stockade ${command.name}${command.usage ? ` ${command.usage}` : ''}`;
}

/** Finds the command named by the first one or two words; `consumed` is how many words it took. */
function lookup(words: string[]): { command: Command; consumed: number } | null {
  const [first, second] = words;
  const two = commands.find((c) => second !== undefined && c.name === `${first} ${second}`);
  if (two) return { command: two, consumed: 2 };
  const one = commands.find((c) => c.name === first);
  return one ? { command: one, consumed: 1 } : null;
}

function groupOf(word: string | undefined): Command[] {
  return word === undefined ? [] : commands.filter((c) => c.name.startsWith(`${word} `));
}

/** Collapses a multi-line message (config issues, driver errors) into the one line the CLI prints. */
export function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim().replace(/^- /, ''))
    .filter(Boolean);
  return lines.reduce((acc, line) => (acc === '' ? line : acc.endsWith(':') ? `${acc} ${line}` : `${acc}; ${line}`), '');
}

function describeError(error: unknown): { message: string; code: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, code: error.code, exitCode: error.exitCode };
  if (isStockadeError(error)) return { message: error.message, code: error.code, exitCode: 1 };
  if (error instanceof ConfigError) return { message: oneLine(error.message), code: 'CONFIG', exitCode: 1 };
  const e = error as (Error & { code?: string; errors?: unknown[] }) | null;
  let message = e?.message ?? String(error);
  // Node's connect errors for a host with several addresses are an AggregateError with no message.
  if (!message && Array.isArray(e?.errors) && e.errors.length > 0) message = (e.errors[0] as Error).message;
  if (!message) message = e?.code ?? 'unexpected error';
  return { message: oneLine(message), code: e?.code ?? 'FAILED', exitCode: 1 };
}

/** Runs one command line and resolves to the exit code: 0 ok, 1 failure, 2 usage error. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // Known before parsing, so that even a usage error comes out as JSON.
  const wantsJson = argv.includes('--json');
  try {
    // Global options may precede the command words; everything after them is the command's.
    let at = 0;
    while (at < argv.length && (argv[at] as string).startsWith('-')) at += argv[at] === '--config' ? 2 : 1;
    const leading = argv.slice(0, at);
    const words = argv.slice(at);
    const [first, second] = words;
    const leadingHelp = leading.includes('--help') || leading.includes('-h');

    if (first === undefined) {
      if (leadingHelp) {
        io.stdout.write(generalHelp());
        return 0;
      }
      io.stderr.write(generalHelp());
      return 2;
    }
    if (first === 'help') {
      const target = lookup(words.slice(1));
      const group = groupOf(words[1]);
      if (words.length === 1) io.stdout.write(generalHelp());
      else if (target) io.stdout.write(commandHelp(target.command));
      else if (group.length) io.stdout.write(generalHelp(group));
      else throw new UsageError(`unknown command "${words.slice(1).join(' ')}" (see: stockade help)`);
      return 0;
    }

    const found = lookup(words);
    if (!found) {
      const group = groupOf(first);
      if (group.length === 0) throw new UsageError(`unknown command "${first}" (see: stockade help)`);
      if (leadingHelp || second === '--help' || second === '-h') {
        io.stdout.write(generalHelp(group));
        return 0;
      }
      const subs = group.map((c) => c.name.slice(first.length + 1)).join(', ');
      throw new UsageError(second === undefined || second.startsWith('-') ? `"${first}" needs a command: ${subs}` : `unknown command "${first} ${second}" (one of: ${subs})`);
    }

    const { command, consumed } = found;
    let parsed;
    try {
      parsed = parseArgs({
        args: [...leading, ...words.slice(consumed)],
        options: { ...GLOBAL_OPTIONS, ...command.options },
        strict: true,
        allowPositionals: true,
      });
    } catch (error) {
      // Node's messages go on to explain `--`; the first sentence is what matters.
      const message = (error as Error).message.split(/\.\s/)[0] ?? 'invalid arguments';
      throw new UsageError(`${message} (${usageHint(command)})`);
    }
    const options = parsed.values as Record<string, string | boolean | undefined>;
    if (options.help === true) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    const args = parsed.positionals;
    if (args.length < command.args.min) throw new UsageError(`missing argument (${usageHint(command)})`);
    if (args.length > command.args.max) throw new UsageError(`unexpected argument "${args[command.args.max]}" (${usageHint(command)})`);
    const out = createOutput({ json: options.json === true, stdout: io.stdout, stderr: io.stderr });
    const configFile = typeof options.config === 'string' ? options.config : undefined;
    return await command.run({ args, options, out, configFile, env: io.env, stdin: io.stdin, stderr: io.stderr });
  } catch (error) {
    const { message, code, exitCode } = describeError(error);
    io.stderr.write(`stockade: ${message}\n`);
    if (wantsJson) io.stdout.write(JSON.stringify({ error: { code, message } }, null, 2) + '\n');
    if (io.env.STOCKADE_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(error.stack + '\n');
    return exitCode;
  }
}
