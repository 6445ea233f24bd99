import cluster from 'node:cluster';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import type { WorkerReady } from '../server/start.js';
import type { Command } from './command.js';

/** Resolves on the first SIGINT or SIGTERM; later ones are ignored, so a second signal cannot cut a clean shutdown short. */
function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

const serve: Command = {
  name: 'serve',
  summary: 'run the server',
  usage: '[--config FILE]',
  description:
    'Starts the server with the configuration from --config, STOCKADE_CONFIG or ./stockade.yaml, plus STOCKADE_* ' +
    'environment overrides. On the first start of an empty installation it creates the site admin "admin" ' +
    'and prints its password, once. With server.workers above 1 it forks that many server processes sharing ' +
    'the port and replaces any that dies. Stops on SIGINT or SIGTERM.',
  args: { min: 0, max: 0 },
  examples: ['stockade serve', 'STOCKADE_SERVER_PORT=9000 stockade serve --config /etc/stockade/stockade.yaml', 'STOCKADE_SERVER_WORKERS=auto stockade serve'],
  async run(ctx) {
    const config = loadConfig({ file: ctx.configFile, env: ctx.env });
    const { startCluster, startServer, workerCount } = await import('../server/start.js');
    if (cluster.isWorker) {
      // A worker of the cluster below: cluster.fork() ran this command again. Its log lines say which process wrote them.
      const logger = pino({ level: config.log.level, base: { service: 'stockade', pid: process.pid } });
      const server = await startServer(config, { bootstrap: false, logger });
      const ready: WorkerReady = { stockade: 'ready', url: server.url };
      process.send?.(ready);
      // Also stop when the primary is gone, rather than serve on unsupervised.
      await Promise.race([stopSignal(), new Promise<void>((resolve) => process.once('disconnect', resolve))]);
      await server.close();
      // The channel to the primary would keep this process alive.
      if (process.connected) process.disconnect();
      return 0;
    }
    const workers = workerCount(config);
    const server = workers > 1 ? await startCluster(config) : await startServer(config);
    const password = server.initialAdminPassword;
    ctx.out.result({ url: server.url, initialAdminPassword: password, ...(workers > 1 ? { workers } : {}) }, () => {
      const lines = [`stockade listening on ${server.url}${workers > 1 ? ` (${workers} worker processes)` : ''}`];
      if (password) {
        lines.push(`first start: created user "admin" with password ${password}`, '(shown once; change it with: stockade user password admin)');
      }
      return lines.join('\n');
    });
    await stopSignal();
    await server.close();
    return 0;
  },
};

export const serveCommands: Command[] = [serve];
