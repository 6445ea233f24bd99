import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * The reference ceiling: a bare node:http server answering from memory with bytes captured from
 * a real registry. No routing library, no auth, no storage: whatever a registry does beyond
 * this costs throughput. Usage: node static-server.mjs ROUTES.json [DELAY_US]; prints {"port":N}.
 * DELAY_US (default 0) keeps the CPU busy that long before each answer: a registry that costs that
 * much more per request, to see what such a cost does to an install (bench/remote/sensitivity.mjs).
 *
 * ROUTES.json: {"routes":[{"path":"/bench-ten","variant":"full"|"corgi"|"any","contentType":"…","file":"…","rewrite":bool}]}
 * `rewrite` bodies have `{{BASE}}` replaced by this server's own URL (tarball links).
 */
const CORGI = 'application/vnd.npm.install-v1+json';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const delayNs = BigInt(Math.round(Number(process.argv[3] ?? 0) * 1000));
const routes = new Map();

const server = createServer((request, response) => {
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const corgi = (request.headers.accept ?? '').includes(CORGI);
  // A client that asks for the other packument variant than the one captured gets that one:
  // npm install accepts either, and only the scenarios' own requests are measured.
  const route = routes.get(`${corgi ? 'corgi' : 'full'} ${path}`) ?? routes.get(`any ${path}`) ?? routes.get(`${corgi ? 'full' : 'corgi'} ${path}`);
  if (!route) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"error":"not found"}');
    return;
  }
  if (delayNs > 0n) {
    const until = process.hrtime.bigint() + delayNs;
    while (process.hrtime.bigint() < until);
  }
  response.writeHead(200, { 'content-type': route.contentType, 'content-length': route.body.length });
  response.end(route.body);
});
server.keepAliveTimeout = 65_000;

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  for (const route of spec.routes) {
    let body = readFileSync(route.file);
    if (route.rewrite) body = Buffer.from(body.toString('utf8').replaceAll('{{BASE}}', base));
    routes.set(`${route.variant} ${route.path}`, { contentType: route.contentType, body });
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
