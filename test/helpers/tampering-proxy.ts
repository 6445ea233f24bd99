import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A man in the middle on loopback: forwards every request to `target` and passes each answer
 * body through `rewrite` (by request path) on its way back, so tests can show that clients
 * refuse metadata changed in transit.
 */
export async function startTamperingProxy(target: string, rewrite: (path: string, body: Buffer) => Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const proxy = createServer((incoming, outgoing) => {
    const forward = httpRequest(`${target}${incoming.url}`, { method: incoming.method, headers: { ...incoming.headers, host: upstream.host } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const headers = { ...answer.headers };
        delete headers['content-length'];
        outgoing.writeHead(answer.statusCode ?? 502, headers);
        outgoing.end(rewrite(incoming.url ?? '', Buffer.concat(chunks)));
      });
    });
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => proxy.close(() => resolve())) };
}
