import { runCli } from './run.js';

// The process ends by itself once every command has closed what it opened; exitCode avoids
// cutting off output that is still being written to a pipe.
process.exitCode = await runCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
