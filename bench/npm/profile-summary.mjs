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

export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  let total = 0;
  // samples[i] was taken timeDeltas[i] µs after the previous one; charge that time to its node.
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  });
  const functions = new Map();
  const modules = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const url = callFrame.url.replace(/^file:\/\//, '');
    const name = callFrame.functionName || '(anonymous)';
    const where = url ? `${url.split('/').slice(-2).join('/')}:${callFrame.lineNumber + 1}` : '';
    const key = `${name} ${where}`.trim();
    const entry = functions.get(key) ?? { name, where, module: moduleOf(callFrame.url), us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const mod = moduleOf(callFrame.url);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
  }
  const pct = (us) => Math.round((us / total) * 1000) / 10;
  return {
    file,
    totalMs: Math.round(total / 1000),
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

export function formatProfile(summary) {
  const lines = [`CPU profile ${summary.file} (${summary.totalMs.toLocaleString('en-US')} ms sampled)`, '', 'top self time by function:'];
  for (const f of summary.functions) lines.push(`  ${String(f.selfPct).padStart(5)}%  ${f.function.padEnd(36)} ${f.where}  [${f.module}]`);
  lines.push('', 'self time by module:');
  for (const m of summary.modules) lines.push(`  ${String(m.selfPct).padStart(5)}%  ${m.module}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/npm/profile-summary.mjs FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)))}\n`);
}
