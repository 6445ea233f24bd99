/** Turns the collected results into the printed table and the target verdicts. */

/** Targets for Stockade on the 2-core reference machine (see docs/benchmarks.md). */
export const TARGETS = {
  'full-10': 25_000,
  'abbrev-500': 10_000,
  'tarball-52k': 25_000,
  authSlowdown: 0.1,
  installMs: 600,
};

/** Figures measured earlier on the same kind of 2-core machine, printed for comparison. */
export const REFERENCE = {
  verdaccio: { 'full-10': 1_155, 'abbrev-500': 80, 'tarball-52k': 2_247 },
  static: { 'full-10': 35_678, 'abbrev-500': 16_549, 'tarball-52k': 39_210 },
};

const int = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => (n === undefined || n === null ? '-' : `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n)} ms`);

function cell(measurement) {
  if (!measurement) return 'not run';
  if (measurement.error) return `failed: ${measurement.error}`.slice(0, 34);
  const flag = measurement.non2xx || measurement.errors || measurement.timeouts ? ' !' : '';
  return `${int(measurement.rps).padStart(7)}${flag}  ${ms(measurement.latency.p50).padStart(7)}  ${ms(measurement.latency.p99).padStart(8)}`;
}

/**
 * rows: [{ label, results: { [systemId]: measurement } }]; install: { [systemId]: { median } }.
 * A `!` after req/s marks a run with non-2xx answers, socket errors or timeouts.
 */
export function formatTable(systems, rows, install) {
  const width = 34;
  const first = Math.max(38, ...rows.map((r) => r.label.length + 2));
  const lines = [];
  lines.push(''.padEnd(first) + systems.map((s) => s.label.padEnd(width)).join(''));
  lines.push(''.padEnd(first) + systems.map(() => `${'req/s'.padStart(7)}  ${'p50'.padStart(7)}  ${'p99'.padStart(8)}`.padEnd(width)).join(''));
  lines.push('-'.repeat(first + width * systems.length));
  for (const row of rows) lines.push(row.label.padEnd(first) + systems.map((s) => cell(row.results[s.id]).padEnd(width)).join(''));
  if (install) {
    lines.push('-'.repeat(first + width * systems.length));
    const text = (s) => {
      const r = install[s.id];
      if (!r) return 'not run';
      if (r.error) return `failed: ${r.error}`.slice(0, 34);
      return `${int(r.median)} ms (${r.runs.join(' / ')})`;
    };
    lines.push('cold npm install, 20 deps (median)'.padEnd(first) + systems.map((s) => text(s).padEnd(width)).join(''));
  }
  return lines.join('\n');
}

/** Server / generator / other CPU per cell, so a saturated server or a noisy machine shows. */
export function formatCpuTable(systems, rows) {
  const width = 34;
  const first = Math.max(38, ...rows.map((r) => r.label.length + 2));
  const cpuCell = (m) => (m?.cpuPct ? `${m.cpuPct.server ?? '?'}% / ${m.cpuPct.generator}% / ${m.cpuPct.other}%` : '-');
  return rows.map((row) => row.label.padEnd(first) + systems.map((s) => cpuCell(row.results[s.id]).padEnd(width)).join('')).join('\n');
}

/**
 * Stockade as a share of the static server in the same run, next to the share the target is of
 * the reference ceiling: on a slower or busier machine the absolute figures drop, the shares
 * should not.
 */
function ceilingShare(rows, id, measurement) {
  const ceiling = rows.find((r) => r.id === id && !r.auth)?.results.static;
  if (!ceiling || ceiling.error || !ceiling.rps) return '';
  const share = Math.round((measurement.rps / ceiling.rps) * 100);
  const wanted = Math.round((TARGETS[id] / REFERENCE.static[id]) * 100);
  return ` = ${share}% of static here (target = ${wanted}% of the reference ceiling)`;
}

/** Stockade's figures against the targets: [{ name, value, ok }]. */
export function checkTargets(rows, install) {
  const checks = [];
  const find = (id, auth) => rows.find((r) => r.id === id && r.auth === auth)?.results.stockade;
  for (const id of ['full-10', 'abbrev-500', 'tarball-52k']) {
    const label = rows.find((r) => r.id === id)?.scenario.label;
    if (!label) continue;
    const anon = find(id, false);
    const auth = find(id, true);
    const target = TARGETS[id];
    const ok = (m) => Boolean(m && !m.error && m.rps >= target && !m.non2xx && !m.errors);
    checks.push({ name: `${label} >= ${int(target)} req/s`, value: anon && !anon.error ? `${int(anon.rps)} req/s${ceilingShare(rows, id, anon)}` : 'not measured', ok: ok(anon) });
    checks.push({ name: `${label}, authenticated >= ${int(target)} req/s`, value: auth && !auth.error ? `${int(auth.rps)} req/s` : 'not measured', ok: ok(auth) });
    if (anon && auth && !anon.error && !auth.error) {
      const change = auth.rps / anon.rps - 1;
      checks.push({
        name: `${label}, authenticated within ${TARGETS.authSlowdown * 100}% of anonymous`,
        value: `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`,
        ok: change >= -TARGETS.authSlowdown,
      });
    }
  }
  const inst = install?.stockade;
  checks.push({
    name: `cold npm install of 20 deps <= ${TARGETS.installMs} ms (median)`,
    value: inst && !inst.error ? `${int(inst.median)} ms` : 'not measured',
    ok: Boolean(inst && !inst.error && inst.median <= TARGETS.installMs),
  });
  return checks;
}

export function formatTargets(checks) {
  const width = Math.max(...checks.map((c) => c.name.length)) + 2;
  const lines = checks.map((c) => `  ${c.ok ? 'met   ' : 'MISSED'}  ${c.name.padEnd(width)}${c.value}`);
  const met = checks.filter((c) => c.ok).length;
  lines.push(met === checks.length ? `all ${checks.length} targets met` : `targets: ${met} of ${checks.length} met`);
  return lines.join('\n');
}
