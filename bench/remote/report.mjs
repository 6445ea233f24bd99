/** Turns the timed installs into the printed tables and the target verdicts. */

/** Issue 7: warm through Stockade no slower than the fixture registry; cold at most 30 % slower. */
export const TARGETS = { warmRatio: 1.0, coldRatio: 1.3 };

export const SYSTEMS = [
  { id: 'reference', label: 'fixture registry, direct' },
  { id: 'stockade', label: 'Stockade virtual repo' },
];
export const PHASES = ['cold', 'warm'];

/** Above this much CPU (percent of one core) used by others just before a run, it counts as disturbed. */
export const IDLE_PCT = 15;

const median = (xs) => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  // The lower middle for an even count: never a value no run produced.
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const int = (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const ratio = (a, b) => (a === null || b === null || b === 0 ? null : a / b);
const times = (r) => (r === null ? '-' : `${r.toFixed(2)}x`);

/** Median, min and runs per system and phase; ratios to the reference, from the medians and per round. */
export function summarize(measurements) {
  const cells = {};
  for (const system of SYSTEMS) {
    for (const phase of PHASES) {
      const runs = measurements.filter((m) => m.system === system.id && m.phase === phase);
      const ms = runs.map((m) => m.ms);
      cells[`${system.id} ${phase}`] = {
        runs: ms,
        medianMs: median(ms),
        minMs: ms.length ? Math.min(...ms) : null,
        disturbed: runs.filter((m) => m.busyBeforePct !== null && m.busyBeforePct > IDLE_PCT).length,
        stockadeCpuMs: median(runs.map((m) => m.stockadeCpuMs).filter((x) => x !== null)),
        fixtureCpuMs: median(runs.map((m) => m.fixtureCpuMs).filter((x) => x !== null)),
        packumentMedianMs: median(runs.map((m) => m.requests.packument.medianMs).filter((x) => x !== null)),
        packumentP90Ms: median(runs.map((m) => m.requests.packument.p90Ms).filter((x) => x !== null)),
        tarballMedianMs: median(runs.map((m) => m.requests.tarball.medianMs).filter((x) => x !== null)),
        requests: runs[0] ? runs[0].requests.packument.count + runs[0].requests.tarball.count : null,
      };
    }
  }
  const ratios = {};
  for (const phase of PHASES) {
    const ref = cells[`reference ${phase}`];
    const stk = cells[`stockade ${phase}`];
    // Paired: the two installs of one round (and repeat) ran a few seconds apart, under the same load.
    const slots = [...new Set(measurements.map((m) => `${m.round}.${m.repeat ?? 1}`))];
    const paired = slots
      .map((slot) => {
        const at = (system) => measurements.find((m) => `${m.round}.${m.repeat ?? 1}` === slot && m.phase === phase && m.system === system);
        const a = at('stockade');
        const b = at('reference');
        return a && b ? a.ms / b.ms : null;
      })
      .filter((r) => r !== null);
    ratios[phase] = { ofMedians: ratio(stk.medianMs, ref.medianMs), ofMins: ratio(stk.minMs, ref.minMs), pairedMedian: median(paired), paired };
  }
  return { cells, ratios };
}

export function formatTable(summary) {
  const { cells, ratios } = summary;
  const first = 30;
  const col = 42;
  const lines = [];
  lines.push(''.padEnd(first) + 'cold install'.padEnd(col) + 'warm install');
  lines.push(''.padEnd(first) + PHASES.map(() => 'median / min ms    vs reference'.padEnd(col)).join(''));
  lines.push('-'.repeat(first + col * 2));
  for (const system of SYSTEMS) {
    const text = PHASES.map((phase) => {
      const c = cells[`${system.id} ${phase}`];
      const vs = system.id === 'reference' ? '1.00x' : `${times(ratios[phase].ofMedians)}`;
      return `${`${int(c.medianMs)} / ${int(c.minMs)}`.padEnd(19)}${vs}${c.disturbed ? ` (${c.disturbed} of ${c.runs.length} disturbed)` : ''}`.padEnd(col);
    });
    lines.push(system.label.padEnd(first) + text.join(''));
  }
  lines.push('');
  lines.push('every run (ms, in round order):');
  for (const system of SYSTEMS) {
    for (const phase of PHASES) lines.push(`  ${`${system.label}, ${phase}`.padEnd(40)}${cells[`${system.id} ${phase}`].runs.map(int).join(' / ')}`);
  }
  lines.push(`  Stockade / reference per round (warm: per repeat): cold ${ratios.cold.paired.map(times).join(' ')}; warm ${ratios.warm.paired.map(times).join(' ')}`);
  return lines.join('\n');
}

/** What npm saw per request and what each server spent in CPU, medians over the runs. */
export function formatDetail(summary) {
  const { cells } = summary;
  const lines = ['per install (medians over the runs):', `  ${''.padEnd(40)}${'requests'.padStart(9)}${'packument p50/p90'.padStart(19)}${'tarball p50'.padStart(13)}${'Stockade CPU'.padStart(14)}${'fixture CPU'.padStart(13)}`];
  for (const system of SYSTEMS) {
    for (const phase of PHASES) {
      const c = cells[`${system.id} ${phase}`];
      lines.push(
        `  ${`${system.label}, ${phase}`.padEnd(40)}${int(c.requests).padStart(9)}${`${int(c.packumentMedianMs)} / ${int(c.packumentP90Ms)} ms`.padStart(19)}${`${int(c.tarballMedianMs)} ms`.padStart(13)}` +
          `${(c.stockadeCpuMs === null ? '-' : `${int(c.stockadeCpuMs)} ms`).padStart(14)}${(c.fixtureCpuMs === null ? '-' : `${int(c.fixtureCpuMs)} ms`).padStart(13)}`,
      );
    }
  }
  lines.push('  (npm logs a tarball request as done when its body has been consumed, which waits on npm\'s own unpacking queue:');
  lines.push('   tarball times are mostly npm, packument times mostly the registry)');
  return lines.join('\n');
}

/** The two targets of issue 7: [{ name, value, ok }]. */
export function checkTargets(summary) {
  const { ratios } = summary;
  const pct = (r) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`;
  // Judged on the ratio of the medians; the median of the per-round ratios is shown beside it
  // because it is less sensitive to load that comes and goes on a shared machine.
  const value = (phase) => {
    const r = ratios[phase];
    if (r.ofMedians === null) return 'not measured';
    return `${pct(r.ofMedians)} (${times(r.ofMedians)} of medians; per-round median ${r.pairedMedian === null ? '-' : times(r.pairedMedian)})`;
  };
  return [
    { name: 'warm install through Stockade no slower than from the fixture registry', value: value('warm'), ok: ratios.warm.ofMedians !== null && ratios.warm.ofMedians <= TARGETS.warmRatio },
    { name: 'cold install overhead <= 30% (gate on)', value: value('cold'), ok: ratios.cold.ofMedians !== null && ratios.cold.ofMedians <= TARGETS.coldRatio },
  ];
}

export function formatTargets(checks) {
  const width = Math.max(...checks.map((c) => c.name.length)) + 2;
  const lines = checks.map((c) => `  ${c.ok ? 'met   ' : 'MISSED'}  ${c.name.padEnd(width)}${c.value}`);
  const met = checks.filter((c) => c.ok).length;
  lines.push(met === checks.length ? `all ${checks.length} targets met` : `targets: ${met} of ${checks.length} met`);
  return lines.join('\n');
}
