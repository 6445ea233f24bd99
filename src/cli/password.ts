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
  const first = await promptHidden(stdin, stderr, 'new password: ');
  const second = await promptHidden(stdin, stderr, 'repeat it: ');
  if (first !== second) throw new CliError('the two passwords differ');
  return first;
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

/** Reads one line from a terminal in raw mode, echoing nothing. */
function promptHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(prompt);
    let value = '';
    const finish = (error: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new CliError('interrupted', 130, 'INTERRUPTED'));
        if (ch === '\u0004') return finish(value === '' ? new CliError('no password entered') : null);
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
