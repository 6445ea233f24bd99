/** Medians, the printed table and the target checks of bench:os-repos. */

/** Stockade's targets on the 2-core reference machine. */
export const TARGETS = {
  /** 1,000 .debs uploaded and the first signed publish read, without the gate. */
  ingestDebsMs: 1500,
  /** One more package into 1,000 (and at every growth checkpoint): upload + signed publish. */
  oneMoreMs: 50,
};

/** Figures from the issue, same kind of machine, for context (milliseconds). */
export const REFERENCE = {
  'aptly/add': 2150,
  'aptly/publish': 270,
  'aptly/one-more': 310,
  'reprepro/total': 600,
  'reprepro/one-more': 80,
  'createrepo_c/full': 170,
  'createrepo_c/update': 170,
};

export function stats(samples) {
  if (!samples?.length) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  const round = (n) => Math.round(n * 10) / 10;
  return { median: round(median), min: round(sorted[0]), max: round(sorted[sorted.length - 1]), n: sorted.length };
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/**
 * rows: [{ system, operation, samples?, na?, target?, reference? }]. A row with `na` prints
 * "n/a (reason)" instead of figures.
 */
export function formatTable(rows) {
  const header = ['system', 'operation', 'median', '(min–max, n)', 'target / issue figure'];
  const lines = rows.map((row, i) => {
    if (row.na) return [row.system, row.operation, i > 0 && rows[i - 1].na === row.na ? 'n/a (as above)' : `n/a (${row.na})`, '', ''];
    const s = stats(row.samples);
    const note = [row.target ? `target ${row.target}${s ? (row.met ? ' met' : ' MISSED') : ''}` : '', row.reference !== undefined ? `issue: ${formatMs(row.reference)}` : ''].filter(Boolean).join('; ');
    return [row.system, row.operation, s ? formatMs(s.median) : '-', s ? `(${formatMs(s.min)}–${formatMs(s.max)}, n=${s.n})` : '', note];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => !l[2].startsWith('n/a')).map((l) => l[i].length)));
  const render = (cells) =>
    cells[2].startsWith('n/a')
      ? `${cells[0].padEnd(widths[0])}  ${cells[1].padEnd(widths[1])}  ${cells[2]}`
      : cells
          .map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
          .join('  ')
          .trimEnd();
  const out = [render(header), '-'.repeat(widths.reduce((a, b) => a + b + 2, 0))];
  let previous = null;
  for (const [i, cells] of lines.entries()) {
    if (previous !== null && rows[i].system !== previous) out.push('');
    previous = rows[i].system;
    out.push(render(cells));
  }
  return out.join('\n');
}

/** Marks each row that has a target as met or missed (by its median). */
export function applyTargets(rows) {
  for (const row of rows) {
    if (!row.targetMs || row.na) continue;
    const s = stats(row.samples);
    row.met = Boolean(s && s.median <= row.targetMs);
  }
  return rows.filter((r) => r.targetMs).map((r) => ({ system: r.system, operation: r.operation, targetMs: r.targetMs, medianMs: r.na ? null : (stats(r.samples)?.median ?? null), met: r.na ? null : r.met, na: r.na ?? null }));
}
