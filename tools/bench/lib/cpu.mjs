// CPU accounting from /proc: how much CPU each of our processes used during a timed run, and how
// much went to processes this bench did not start (another workload on a shared machine skews
// every figure, so the report flags runs where that share was high).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './net.mjs';
import { log } from './log.mjs';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* default */
}

/**
 * @typedef {object} CpuSnapshot
 * @property {number} at          ms (monotonic)
 * @property {number} busy        machine busy jiffies (all cores)
 * @property {number} total       machine total jiffies (all cores)
 * @property {Map<number, {ppid: number, cpu: number, comm: string}>} procs  cpu in jiffies (utime+stime)
 * @property {number} reaped      this process's cutime+cstime: CPU of children it has waited for
 */

/** @returns {CpuSnapshot} */
export function snapshot() {
  const stat = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = stat[3] + (stat[4] ?? 0);
  const total = stat.slice(0, 8).reduce((a, b) => a + b, 0);
  /** @type {CpuSnapshot['procs']} */
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const comm = s.slice(s.indexOf('(') + 1, close);
      const f = s.slice(close + 2).split(' ');
      // after "pid (comm) ": state(0) ppid(1) ... utime(11) stime(12)
      procs.set(Number(d), { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]), comm });
    } catch {
      /* exited meanwhile */
    }
  }
  const self = readFileSync('/proc/self/stat', 'utf8');
  const f = self.slice(self.lastIndexOf(')') + 2).split(' ');
  return { at: performance.now(), busy: total - idle, total, procs, reaped: Number(f[13]) + Number(f[14]) };
}

/**
 * PIDs of `roots` and all their descendants in a snapshot.
 * @param {CpuSnapshot} snap
 * @param {number[]} roots
 */
export function withDescendants(snap, roots) {
  const children = new Map();
  for (const [pid, p] of snap.procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  const out = new Set();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop();
    if (out.has(pid)) continue;
    out.add(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/**
 * CPU seconds used between two snapshots by the given processes (and their descendants, e.g.
 * nginx/HAProxy workers), counting a process born in between from zero.
 * @param {CpuSnapshot} a
 * @param {CpuSnapshot} b
 * @param {number[]} roots
 */
export function cpuSeconds(a, b, roots) {
  let j = 0;
  for (const pid of withDescendants(b, roots)) {
    const end = b.procs.get(pid);
    if (!end) continue;
    j += end.cpu - (a.procs.get(pid)?.cpu ?? 0);
  }
  return j / clkTck;
}

/**
 * Machine-level view of a window: busy cores, ours (this bench and everything it started, including
 * children that exited in the window, e.g. wrk), and other workloads (processes this bench did not
 * start; kernel threads left out, since ksoftirqd and friends mostly carry our own loopback traffic).
 * @param {CpuSnapshot} a
 * @param {CpuSnapshot} b
 */
export function machineShare(a, b) {
  const seconds = (b.at - a.at) / 1000;
  const cores = (b.total - a.total) / clkTck / Math.max(seconds, 1e-6);
  const busy = (b.busy - a.busy) / clkTck;
  const oursAtStart = withDescendants(a, [process.pid]);
  const oursAtEnd = withDescendants(b, [process.pid]);
  let exitedBefore = 0; // CPU that exited children had already used when the window opened
  for (const pid of oursAtStart) if (!b.procs.has(pid)) exitedBefore += a.procs.get(pid)?.cpu ?? 0;
  const ours = (cpuSeconds(a, b, [process.pid]) * clkTck + (b.reaped - a.reaped) - exitedBefore) / clkTck;
  const kernel = withDescendants(b, [2]);
  let foreign = 0;
  for (const [pid, p] of b.procs) {
    if (oursAtEnd.has(pid) || oursAtStart.has(pid) || kernel.has(pid) || pid === 2) continue;
    foreign += p.cpu - (a.procs.get(pid)?.cpu ?? 0);
  }
  foreign /= clkTck;
  return { seconds, cores: Math.round(cores * 10) / 10, busyCores: busy / seconds, oursCores: ours / seconds, foreignCores: foreign / seconds };
}

/**
 * Waits (bounded) until processes this bench did not start use less than `maxForeignCores` of the
 * CPU, measured over 2 s windows. Returns the last measurement (flagged when it never got quiet).
 * @param {string} what
 * @param {number} maxWaitMs
 * @param {number} [maxForeignCores]
 */
export async function waitQuiet(what, maxWaitMs, maxForeignCores = 0.15) {
  const deadline = Date.now() + maxWaitMs;
  let said = false;
  for (;;) {
    const a = snapshot();
    await sleep(2_000);
    const m = machineShare(a, snapshot());
    if (m.foreignCores <= maxForeignCores) return { ...m, quiet: true };
    if (Date.now() >= deadline) {
      log(`  machine still busy with other work before ${what} (${m.foreignCores.toFixed(2)} cores used by processes this bench did not start): going on, flagged in the report`);
      return { ...m, quiet: false };
    }
    if (!said) {
      log(`  other processes use ${m.foreignCores.toFixed(2)} cores: waiting up to ${Math.round(maxWaitMs / 1000)} s for a quiet machine before ${what}`);
      said = true;
    }
  }
}
