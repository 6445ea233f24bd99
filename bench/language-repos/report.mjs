import { formatMs, stats } from '../os-repos/report.mjs';

/**
 * The table of bench:language-repos: one row per (system, operation), the median over the runs
 * with (min–max, n), in the row's unit: milliseconds, or a rate (requests/s, uploads/s) where
 * higher is better. The last column says what a figure is compared with.
 */

export function formatValue(value, unit) {
  if (value === null || value === undefined) return '-';
  if (unit === 'ms') return formatMs(value);
  const number = value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
  return `${number} ${unit}`;
}

/** Collects samples per (system, operation) over the runs, in first-seen order. */
export function createSamples() {
  const rows = new Map();
  return {
    /** `value` is one sample or a list; `extra` (unit, note, compare, mbps …) is kept from the first call. */
    add(system, operation, value, { mbps, ...extra } = {}) {
      const key = `${system}\u0000${operation}`;
      if (!rows.has(key)) rows.set(key, { system, operation, unit: 'ms', ...extra, samples: [], mbps: [] });
      const row = rows.get(key);
      row.samples.push(...[value].flat());
      if (mbps !== undefined) row.mbps.push(...[mbps].flat());
      return row;
    },
    rows: () => [...rows.values()],
  };
}

/** Median MB/s of a row's samples, when it has any. */
export const medianMbps = (row) => (row.mbps?.length ? stats(row.mbps).median : null);

/**
 * rows: `[{ system, operation, unit, samples, note?, compare? }]`, where `compare` is
 * `{ system, operation }` of the reference row whose median this one is set against.
 */
export function formatTable(rows, systemOrder) {
  const order = (row) => {
    const i = systemOrder.findIndex((s) => row.system.startsWith(s));
    return i < 0 ? systemOrder.length : i;
  };
  const sorted = [...rows].sort((a, b) => order(a) - order(b));
  const find = (ref) => rows.find((r) => r.system === ref.system && r.operation === ref.operation);
  const header = ['system', 'operation', 'median', '(min–max, n)', 'notes'];
  const lines = sorted.map((row) => {
    const s = stats(row.samples);
    const notes = [];
    const mbps = medianMbps(row);
    if (mbps !== null) notes.push(`${mbps.toFixed(1)} MB/s`);
    if (row.compare) {
      const ref = find(row.compare);
      const r = ref ? stats(ref.samples) : null;
      if (s && r && r.median > 0) {
        const ratio = s.median / r.median;
        notes.push(`${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(2)}× ${row.compare.label ?? row.compare.system}`);
      }
    }
    if (row.note) notes.push(row.note);
    // Rates show their unit once, beside the median.
    const range = (v) => (row.unit === 'ms' ? formatValue(v, 'ms') : formatValue(v, '').trim());
    return { system: row.system, cells: [row.system, row.operation, s ? formatValue(s.median, row.unit) : '-', s ? `(${range(s.min)}–${range(s.max)}, n=${s.n})` : '', notes.join('; ')] };
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l.cells[i].length)));
  const render = (cells) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [render(header), '-'.repeat(Math.min(160, widths.reduce((a, b) => a + b + 2, 0)))];
  let previous = null;
  for (const line of lines) {
    if (previous !== null && line.system !== previous) out.push('');
    previous = line.system;
    out.push(render(line.cells));
  }
  return out.join('\n');
}

/** A row for the results file: every sample and its statistics. */
export function rowJson(row) {
  const round = (n) => Math.round(n * 10) / 10;
  return {
    system: row.system,
    operation: row.operation,
    unit: row.unit,
    ...stats(row.samples),
    samples: row.samples.map(round),
    ...(row.mbps?.length ? { mbPerSecond: stats(row.mbps) } : {}),
    ...(row.compare ? { comparedWith: { system: row.compare.system, operation: row.compare.operation } } : {}),
    ...(row.note ? { note: row.note } : {}),
  };
}
