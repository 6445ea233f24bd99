import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Self time per function from a V8 .cpuprofile (`node --cpu-prof`), and per module (package
 * under node_modules, our dist/ files, node internals). Usage: node profile-summary.mjs FILE [N]
 */

function moduleOf(url) {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `stockade ${url.slice(dist + 1)}`;
  return url.replace(/^file:\/\//, '');
}

/** Self time per node id over the samples taken within [fromUs, toUs) (all samples without bounds). */
function selfTimes(profile, fromUs = -Infinity, toUs = Infinity) {
  const selfUs = new Map();
  // samples[i] was taken timeDeltas[i] µs after the previous one; charge that time to its node.
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < fromUs || at >= toUs) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  return selfUs;
}

function rank(profile, byId, selfUs, top) {
  const functions = new Map();
  const modules = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    total += us;
    // Idle is time the process waited for work; percentages are of the time it was busy.
    if (callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const url = callFrame.url.replace(/^file:\/\//, '');
    const name = callFrame.functionName || '(anonymous)';
    const where = url ? `${url.split('/').slice(-2).join('/')}:${callFrame.lineNumber + 1}` : '';
    const key = `${name} ${where}`.trim();
    const mod = moduleOf(callFrame.url);
    const entry = functions.get(key) ?? { name, where, module: mod, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us) => (busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0);
  return {
    sampledMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ function: f.name, where: f.where, module: f.module, selfMs: Math.round(f.us / 1000), selfPct: pct(f.us) })),
    modules: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, us]) => ({ module, selfMs: Math.round(us / 1000), selfPct: pct(us) })),
  };
}

/**
 * The whole profile, and optionally slices of it: `windows` are `{ label, fromUs, toUs }` on
 * the monotonic clock (`process.hrtime`), which V8 also stamps its samples with on Linux.
 */
export function summarizeProfile(file, { top = 25, windows = [], windowTop = 12 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  return {
    file,
    ...rank(profile, byId, selfTimes(profile), top),
    windows: windows.map((w) => ({ label: w.label, ...rank(profile, byId, selfTimes(profile, w.fromUs, w.toUs), windowTop) })),
  };
}

function formatRanking(summary, indent = '') {
  const lines = [`${indent}top self time by function (% of busy time):`];
  for (const f of summary.functions) lines.push(`${indent}  ${String(f.selfPct).padStart(5)}%  ${f.function.padEnd(36)} ${f.where}  [${f.module}]`);
  lines.push(`${indent}by module:`);
  lines.push(`${indent}  ${summary.modules.map((m) => `${m.module} ${m.selfPct}%`).join(', ')}`);
  return lines;
}

export function formatProfile(summary) {
  const lines = [`CPU profile ${summary.file}`, `whole run: ${summary.sampledMs.toLocaleString('en-US')} ms sampled, ${summary.busyMs.toLocaleString('en-US')} ms busy`];
  lines.push(...formatRanking(summary));
  for (const w of summary.windows) {
    lines.push('', `${w.label}: ${w.busyMs.toLocaleString('en-US')} of ${w.sampledMs.toLocaleString('en-US')} ms busy`);
    lines.push(...formatRanking(w, '  '));
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/npm/profile-summary.mjs FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, { top: Number(process.argv[3] ?? 25) }))}\n`);
}
