import { CliError } from './command.js';

// Passwords are at most 1024 characters; anything much longer on stdin is a mistake.
const MAX_INPUT = 64 * 1024;

/**
 * Gets a new password without it ever being a command-line argument: on a terminal it is asked
 * twice with echo off; otherwise (or with `--password-stdin`) it is the first line of stdin.
 */
export async function readNewPassword(options: { fromStdin: boolean; stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream }): Promise<string> {
  const { stdin, stderr } = options;
  if (options.fromStdin || !stdin.isTTY) return readPasswordFromStdin(stdin);
  const terminal = openHiddenInput(stdin, stderr);
  try {
    const first = await terminal.ask('new password: ');
    const second = await terminal.ask('repeat it: ');
    if (first !== second) throw new CliError('the two passwords differ');
    return first;
  } finally {
    terminal.close();
  }
}

export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.length > MAX_INPUT) throw new CliError('password input on stdin is too long');
  }
  // `echo pw |` and here-strings add one newline; it is not part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new CliError('no password on stdin');
  if (/[\r\n]/.test(password)) throw new CliError('the password on stdin must be a single line');
  return password;
}

/**
 * Reads lines from a terminal in raw mode, echoing nothing. Raw mode is on before the first
 * prompt and stays on until close(), so keys typed ahead of a prompt are never echoed either.
 */
function openHiddenInput(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream) {
  let pending: string[] = [];
  let line = '';
  let waiting: { resolve: (value: string) => void; reject: (error: Error) => void } | null = null;

  const answer = (error: Error | null) => {
    const w = waiting;
    const value = line;
    waiting = null;
    line = '';
    stderr.write('\n');
    if (error) w?.reject(error);
    else w?.resolve(value);
  };
  const pump = () => {
    while (waiting && pending.length > 0) {
      const ch = pending.shift() as string;
      if (ch === '\r' || ch === '\n') answer(null);
      else if (ch === '\u0003') answer(new CliError('interrupted', 130, 'INTERRUPTED'));
      else if (ch === '\u0004') answer(line === '' ? new CliError('no password entered') : null);
      else if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
      else if (ch >= ' ') line += ch;
    }
  };
  const onData = (chunk: Buffer | string) => {
    pending = pending.concat([...(typeof chunk === 'string' ? chunk : chunk.toString('utf8'))]);
    pump();
  };

  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  return {
    ask(prompt: string): Promise<string> {
      stderr.write(prompt);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        pump();
      });
    },
    close() {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}
