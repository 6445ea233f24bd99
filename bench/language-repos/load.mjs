import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

/**
 * A closed-loop HTTP load generator, run in its own process so it never shares an event loop
 * with the orchestrator: C keep-alive connections, each sending its next request as soon as the
 * previous answer is read, walking the URL list round-robin, for a warm-up (dropped) and then
 * a fixed duration. Usage: node load.mjs SPEC.json, with
 * `{ "urls": [...], "headers": {...}, "connections": 16, "duration": 3, "warmup": 1 }`.
 * Prints one JSON line: requests, rps, bytesPerSecond, non2xx, errors, latency percentiles (ms).
 */

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const connections = spec.connections ?? 16;
const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
const targets = spec.urls.map((u) => new URL(u));
let next = 0;

function once(url) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(url, { agent, headers: spec.headers ?? {} }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes, ms: performance.now() - started }));
      res.on('error', () => resolve({ status: 0, bytes, ms: performance.now() - started }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, bytes: 0, ms: performance.now() - started }));
    req.end();
  });
}

async function phase(seconds, record) {
  const until = performance.now() + seconds * 1000;
  const totals = { requests: 0, bytes: 0, non2xx: 0, errors: 0, firstBad: null };
  const latencies = [];
  const worker = async () => {
    while (performance.now() < until) {
      const url = targets[next++ % targets.length];
      const r = await once(url);
      totals.requests++;
      totals.bytes += r.bytes;
      if (r.status === 0) totals.errors++;
      else if (r.status < 200 || r.status >= 300) {
        totals.non2xx++;
        totals.firstBad ??= `${r.status} ${url.pathname}`;
      }
      if (record) latencies.push(r.ms);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  return { ...totals, seconds: (performance.now() - started) / 1000, latencies };
}

if (spec.warmup > 0) await phase(spec.warmup, false);
const r = await phase(spec.duration ?? 3, true);
r.latencies.sort((a, b) => a - b);
const pct = (p) => Math.round((r.latencies[Math.min(r.latencies.length - 1, Math.floor((p / 100) * r.latencies.length))] ?? 0) * 100) / 100;
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    requests: r.requests,
    seconds: r.seconds,
    rps: r.requests / r.seconds,
    bytesPerSecond: r.bytes / r.seconds,
    non2xx: r.non2xx,
    errors: r.errors,
    firstBad: r.firstBad,
    latency: { p50: pct(50), p90: pct(90), p99: pct(99), max: pct(100) },
  })}\n`,
);
