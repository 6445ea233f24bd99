import autocannon from 'autocannon';

/**
 * One measurement, in its own process so the load generator never shares an event loop with
 * the orchestrator or a server: a warm-up run whose numbers are dropped, then the measured run.
 * Usage: node load.mjs '{"url":…,"headers":{…},"connections":50,"duration":8,"warmup":2}';
 * prints one JSON line.
 */
const options = JSON.parse(process.argv[2] ?? '{}');
const base = {
  url: options.url,
  headers: options.headers ?? {},
  connections: options.connections ?? 50,
  pipelining: 1,
  // Verdaccio answers the 500-version packument in about a second under load; do not count that as a failure.
  timeout: 30,
};

if (options.warmup > 0) await autocannon({ ...base, duration: options.warmup });
// Tells the parent to start its CPU accounting of the server.
process.stdout.write('{"phase":"measuring"}\n');
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
const result = await autocannon({ ...base, duration: options.duration ?? 8 });
const cpu = process.cpuUsage(cpuBefore);
const generatorCpuPct = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)) * 100);

process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    requests: result.requests.total,
    duration: result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    bytesPerSecond: result.throughput.average,
    generatorCpuPct,
    latency: { mean: result.latency.mean, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  })}\n`,
);
