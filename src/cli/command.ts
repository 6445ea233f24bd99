import type { ParseArgsConfig } from 'node:util';
import type { Output } from './output.js';

export type OptionsSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | undefined>;

/** What a command's `run` receives; everything process-wide comes in here so commands stay testable. */
export interface CommandContext {
  /** Positional arguments after the command words. */
  args: string[];
  options: OptionValues;
  out: Output;
  /** `--config FILE`, when given. */
  configFile: string | undefined;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
}

/** One `stockade` command. Commands are listed in commands.ts and nowhere else. */
export interface Command {
  /** The words that select it, e.g. `user create`. */
  name: string;
  summary: string;
  /** Arguments and options after the name, as shown in help: `NAME [--admin]`. */
  usage: string;
  /** Longer help, shown by `--help`. */
  description?: string;
  options?: OptionsSpec;
  /** How many positional arguments it takes. */
  args: { min: number; max: number };
  examples?: string[];
  /** Resolves to the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** An error the CLI reports as one line on stderr with its own exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly code = 'FAILED',
  ) {
    super(message);
  }
}

/** The command line itself is wrong: exit 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 2, 'USAGE');
  }
}

export function stringOption(options: OptionValues, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

export function requireOption(options: OptionValues, name: string): string {
  const value = stringOption(options, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** Splits `owner/name`; anything else is a usage error. */
export function parseRepoPath(raw: string): { owner: string; name: string } {
  const parts = raw.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UsageError(`"${raw}" is not a repository path of the form owner/name`);
  return { owner: parts[0], name: parts[1] };
}

export function arg(ctx: CommandContext, index: number): string {
  const value = ctx.args[index];
  if (value === undefined) throw new UsageError('missing argument');
  return value;
}
