import { loadConfig } from '../config/load.js';
import type { Command } from './command.js';

const serve: Command = {
  name: 'serve',
  summary: 'run the server',
  usage: '[--config FILE]',
  description:
    'Starts the server with the configuration from --config, STOCKADE_CONFIG or ./stockade.yaml, plus STOCKADE_* ' +
    'environment overrides. On the first start of an empty installation it creates the site admin "admin" ' +
    'and prints its password, once. Stops on SIGINT or SIGTERM.',
  args: { min: 0, max: 0 },
  examples: ['stockade serve', 'STOCKADE_SERVER_PORT=9000 stockade serve --config /etc/stockade/stockade.yaml'],
  async run(ctx) {
    const config = loadConfig({ file: ctx.configFile, env: ctx.env });
    const { startServer } = await import('../server/start.js');
    const server = await startServer(config);
    const password = server.initialAdminPassword;
    ctx.out.result({ url: server.url, initialAdminPassword: password }, () => {
      const lines = [`stockade listening on ${server.url}`];
      if (password) {
        lines.push(`first start: created user "admin" with password ${password}`, '(shown once; change it with: stockade user password admin)');
      }
      return lines.join('\n');
    });
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};

export const serveCommands: Command[] = [serve];
