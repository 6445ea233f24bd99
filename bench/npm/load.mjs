import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One measurement, in its own process so the load generator never shares an event loop with
 * the orchestrator or a server: a warm-up run whose numbers are dropped, then the measured run.
 * Usage: node load.mjs '{"generator":"wrk"|"autocannon","url":…,"headers":{…},"connections":50,"duration":8,"warmup":2}'
 * Prints {"phase":"measuring"} when the measured run starts, then one JSON line of results
 * (latency in milliseconds, CPU of the generator in percent of one core).
 */
const options = JSON.parse(process.argv[2] ?? '{}');
const connections = options.connections ?? 50;
const duration = options.duration ?? 8;
// Verdaccio answers the 500-version packument in seconds under load; that is slow, not failed.
const timeoutS = 30;

/** CPU time of this process and of its waited-for children (wrk), in ms; Linux only for children. */
function cpuMs() {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const text = readFileSync('/proc/self/stat', 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // cutime and cstime are fields 16 and 17, in clock ticks (100 per second on Linux).
    children = (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    // Not Linux: the generator's CPU is then under-reported for wrk.
  }
  return (own.user + own.system) / 1000 + children;
}

// wrk calls done() once at the end; percentiles are in microseconds. Errors: connect, read,
// write, timeout, and `status` = answers with a status of 400 or more.
const WRK_REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"mean":%f,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

function runWrk(seconds) {
  const script = join(tmpdir(), `stockade-bench-wrk-${process.pid}.lua`);
  writeFileSync(script, WRK_REPORT);
  const headerArgs = Object.entries(options.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  // One thread: the generator takes at most one of the cores, the server gets the other.
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, `--timeout`, `${timeoutS}s`, '-s', script, ...headerArgs, options.url];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      rmSync(script, { force: true });
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (code !== 0 || !line) reject(new Error(`wrk failed (exit ${code}): ${err || out}`));
      else resolve(JSON.parse(line));
    });
  });
}

async function measureWrk() {
  if (options.warmup > 0) await runWrk(options.warmup);
  process.stdout.write('{"phase":"measuring"}\n');
  const cpuBefore = cpuMs();
  const r = await runWrk(duration);
  const seconds = r.durationUs / 1e6;
  const ms = (us) => Math.round(us / 10) / 100;
  return {
    rps: r.requests / seconds,
    requests: r.requests,
    duration: seconds,
    ok: r.requests - r.status,
    non2xx: r.status,
    errors: r.connect + r.read + r.write,
    timeouts: r.timeout,
    bytesPerSecond: r.bytes / seconds,
    generatorCpuPct: Math.round(((cpuMs() - cpuBefore) / (seconds * 1000)) * 100),
    latency: { mean: ms(r.mean), p50: ms(r.p50), p90: ms(r.p90), p99: ms(r.p99), max: ms(r.max) },
  };
}

async function measureAutocannon() {
  const { default: autocannon } = await import('autocannon');
  const base = { url: options.url, headers: options.headers ?? {}, connections, pipelining: 1, timeout: timeoutS };
  if (options.warmup > 0) await autocannon({ ...base, duration: options.warmup });
  process.stdout.write('{"phase":"measuring"}\n');
  const cpuBefore = cpuMs();
  const wallBefore = performance.now();
  const result = await autocannon({ ...base, duration });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    duration: result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    bytesPerSecond: result.throughput.average,
    generatorCpuPct: Math.round(((cpuMs() - cpuBefore) / (performance.now() - wallBefore)) * 100),
    // autocannon records whole milliseconds.
    latency: { mean: result.latency.mean, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}

const result = options.generator === 'autocannon' ? await measureAutocannon() : await measureWrk();
result.rps = Math.round(result.rps * 10) / 10;
result.bytesPerSecond = Math.round(result.bytesPerSecond);
process.stdout.write(`${JSON.stringify(result)}\n`);
