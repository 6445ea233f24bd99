import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * CPU accounting from /proc (Linux), so each measurement can show whether the server used a
 * whole core and how much the rest of the machine (the generator, other jobs) took. Elsewhere
 * every function returns null and the report leaves the columns out.
 */

function machineTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …; idle + iowait is time nobody ran.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
  } catch {
    return null;
  }
}

function processTicks(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

export function cpuSnapshot(pid) {
  const machine = machineTicks();
  return machine ? { machine, process: pid === undefined ? null : processTicks(pid) } : null;
}

/** CPU use between two snapshots, in percent of one core: the process, and the whole machine. */
export function cpuBetween(before, after) {
  if (!before || !after) return null;
  const cores = cpus().length;
  const wallTicks = (after.machine.total - before.machine.total) / cores;
  if (wallTicks <= 0) return null;
  const busy = after.machine.total - after.machine.idle - (before.machine.total - before.machine.idle);
  const proc = before.process !== null && after.process !== null ? after.process - before.process : null;
  return {
    machinePct: Math.round((busy / wallTicks) * 100),
    processPct: proc === null ? null : Math.round((proc / wallTicks) * 100),
  };
}

/** Percent of one core in use over `ms`, by everything on the machine. */
export async function machineBusy(ms = 1000) {
  const before = cpuSnapshot();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return cpuBetween(before, cpuSnapshot())?.machinePct ?? null;
}

/** CPU time (user + system) a process has used so far, in ms; null off Linux. /proc counts 10 ms ticks. */
export function processCpuMs(pid) {
  const ticks = processTicks(pid);
  return ticks === null ? null : ticks * 10;
}

/**
 * Waits until a process uses less than 5% of a core over 300 ms (what a previous step left it
 * doing is done), at most `maxMs`; returns how long it waited.
 */
export async function untilIdle(pid, maxMs = 20_000) {
  const started = performance.now();
  for (;;) {
    const before = cpuSnapshot(pid);
    await new Promise((r) => setTimeout(r, 300));
    const pct = cpuBetween(before, cpuSnapshot(pid))?.processPct;
    if (pct === null || pct === undefined || pct < 5 || performance.now() - started > maxMs) return Math.round(performance.now() - started);
  }
}
