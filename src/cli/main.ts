import { loadConfig } from '../config/load.js';
import { startServer } from '../server/start.js';

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === 'serve') {
    const config = loadConfig();
    const server = await startServer(config);
    process.stdout.write(`stockade listening on ${server.url}\n`);
    if (server.initialAdminPassword) {
      process.stdout.write(`first start: created user "admin" with password ${server.initialAdminPassword}\n(shown once; change it with: stockade user password admin)\n`);
    }
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return -1;
  }
  process.stderr.write('usage: stockade serve\n');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`stockade: ${error.message}\n`);
    process.exitCode = 1;
  },
);
