#!/usr/bin/env node
// What would an IDEAL balancer achieve on the bench's "balance" and "bypass" workloads? A small,
// deterministic discrete-event simulation (no network, no overhead, instant global knowledge) that
// the report quotes as the reference for "imbalance <= 1.05" and "mean queue wait vs nginx/HAProxy".
//   node tools/bench/ideal-balance.mjs [--json] [--quick | --seconds N]   (N: check convergence only)
// Model: 4 FIFO worker pools of SLOTS slots; backend i serves nominal d ms in d x slowdown_i ms;
// active = in service + queued. Arrivals, durations, rates and the measurement window follow
// scenarios/balance.mjs and loadgen.mjs (request i of a stream is due at i / rate seconds).
import { pathToFileURL } from 'node:url';
import { drawDurations, maxOverMean, mean, mixMean, prng, summary } from './lib/stats.mjs';
import { BACKENDS, BYPASS_LOAD, BYPASS_SEED, INSTANCES, LOAD, MIX, SEED, SLOTS } from './scenarios/balance-settings.mjs';


const TIE_SEEDS = [1, 2, 3, 4, 5]; // one run per tie-break seed: ties are frequent, one run is noisy

/** Rates, durations and window exactly as the bench derives them. @param {boolean} bypass @param {number} seconds */
function workload(bypass, seconds) {
  const meanMs = mixMean(MIX);
  const caps = BACKENDS.map((b) => SLOTS / ((meanMs * b.slowdown) / 1000));
  const capacity = caps.reduce((a, b) => a + b, 0);
  const rate = Math.round(LOAD * capacity * 10) / 10;
  const bypassRate = bypass ? Math.round(BYPASS_LOAD * caps[0] * 10) / 10 : 0;
  const u = (rate + bypassRate) / capacity;
  const evenShares = caps.map((c, i) => (u * c - (i === 0 ? bypassRate : 0)) / rate);
  const durations = drawDurations(MIX, Math.round(rate * seconds), SEED);
  const bypassDurations = bypass ? drawDurations(MIX, Math.round(bypassRate * seconds), BYPASS_SEED) : [];
  // loadgen.mjs: the window ends one (fastest stream's) interval after the last scheduled arrival.
  const streams = [{ rate, n: durations.length }, ...(bypass ? [{ rate: bypassRate, n: bypassDurations.length }] : [])];
  const windowMs = Math.max(...streams.map((s) => ((s.n - 1) / s.rate) * 1000)) + 1000 / Math.max(...streams.map((s) => s.rate));
  return { meanMs, caps, capacity, rate, bypassRate, evenShares, durations, bypassDurations, windowMs };
}

/** Index of the smallest score; ties broken uniformly at random. @param {number[]} scores @param {() => number} rnd */
function pickMin(scores, rnd) {
  const best = Math.min(...scores);
  const ties = scores.flatMap((s, i) => (s === best ? [i] : []));
  return ties.length === 1 ? ties[0] : ties[Math.floor(rnd() * ties.length)];
}

/** Drops end times <= t; what remains is the active count at t. @param {number[]} ends @param {number} t */
const alive = (ends, t) => ends.filter((e) => e > t);

/**
 * A policy picks a backend for balanced request i arriving at t. `active` = the global truth;
 * `remember` is told where request i went and when it ends (for policies with a local view).
 * @typedef {{ pick: (i: number, t: number, active: number[]) => number, remember?: (i: number, b: number, end: number) => void }} Policy
 * @type {Record<string, (rnd: () => number) => Policy>}
 */
const POLICIES = {
  'least-conn, ideal global': (rnd) => ({ pick: (_i, _t, active) => pickMin(active, rnd) }),
  'shortest expected wait': (rnd) => ({ pick: (_i, _t, active) => pickMin(active.map((a, b) => ((a + 1) * BACKENDS[b].slowdown) / SLOTS), rnd) }),
  'round-robin': () => ({ pick: (i) => i % BACKENDS.length }),
  [`least-conn x${INSTANCES}, local views`]: (rnd) => {
    // Like independent nginx/HAProxy processes: each counts only its own in-flight requests
    // (round robin split of arrivals over instances); none sees the bypass stream.
    /** @type {number[][][]} mine[instance][backend] = end times of this instance's requests */
    const mine = Array.from({ length: INSTANCES }, () => BACKENDS.map(() => []));
    return {
      pick: (i, t) => {
        const views = mine[i % INSTANCES];
        for (let b = 0; b < views.length; b++) views[b] = alive(views[b], t);
        return pickMin(views.map((v) => v.length), rnd);
      },
      remember: (i, b, end) => void mine[i % INSTANCES][b].push(end),
    };
  },
};

/** One simulated run. @param {ReturnType<typeof workload>} w @param {Policy} policy */
function simulate(w, policy) {
  const W = w.windowMs;
  const backends = BACKENDS.map((b) => ({ slowdown: b.slowdown, slotFree: Array(SLOTS).fill(0), ends: /** @type {number[]} */ ([]), integral: 0, busy: 0, balanced: 0 }));
  /** @type {number[]} */ const waits = [];
  /** @type {number[]} */ const latencies = [];
  /** @type {number[]} */ const bypassWaits = [];
  // FIFO pool: a job starts when the earliest-free slot frees (or at once) and holds it for d x slowdown.
  const admit = (/** @type {number} */ b, /** @type {number} */ t, /** @type {number} */ d) => {
    const be = backends[b];
    const s = be.slotFree.indexOf(Math.min(...be.slotFree));
    const start = Math.max(t, be.slotFree[s]);
    const end = start + d * be.slowdown;
    be.slotFree[s] = end;
    be.ends.push(end);
    be.integral += Math.max(0, Math.min(end, W) - t); // active from arrival to end, inside the window
    if (t <= W) be.busy += d * be.slowdown; // the bench's utilization: work that arrived in the window
    return { start, end };
  };
  let i = 0;
  let j = 0;
  const nB = w.durations.length;
  const nP = w.bypassDurations.length;
  while (i < nB || j < nP) {
    const tB = i < nB ? (i / w.rate) * 1000 : Infinity;
    const tP = j < nP ? (j / w.bypassRate) * 1000 : Infinity;
    if (tP < tB) { // bypass request: straight to backend 0 (on equal times loadgen fires stream 0 first)
      const { start } = admit(0, tP, w.bypassDurations[j++]);
      if (tP <= W) bypassWaits.push(start - tP);
      continue;
    }
    for (const be of backends) be.ends = alive(be.ends, tB);
    const b = policy.pick(i, tB, backends.map((be) => be.ends.length));
    const { start, end } = admit(b, tB, w.durations[i]);
    policy.remember?.(i, b, end);
    backends[b].balanced++;
    waits.push(start - tB);
    latencies.push(end - tB);
    i++;
  }
  const avgActive = backends.map((be) => be.integral / W);
  const util = backends.map((be) => be.busy / (SLOTS * W));
  const qw = summary(waits);
  const bq = bypassWaits.length ? summary(bypassWaits) : null;
  return {
    imbalanceRaw: maxOverMean(avgActive),
    imbalanceUtil: maxOverMean(util),
    queueWaitMean: qw.mean,
    queueWaitP99: qw.p99,
    latencyMean: mean(latencies),
    bypassQueueWaitMean: bq ? bq.mean : NaN,
    bypassQueueWaitP99: bq ? bq.p99 : NaN,
    avgActive,
    utilization: util,
    shares: backends.map((be) => be.balanced / nB),
  };
}

/** mean / min / max of each scalar, mean of each per-backend array, over the seeded runs. @param {any[]} runs */
function aggregate(runs) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const k of Object.keys(runs[0])) {
    const xs = runs.map((r) => r[k]);
    out[k] = Array.isArray(xs[0]) ? xs[0].map((/** @type {number} */ _, /** @type {number} */ b) => mean(xs.map((x) => x[b]))) : { mean: mean(xs), min: Math.min(...xs), max: Math.max(...xs) };
  }
  return out;
}

/** Every policy on both workloads, aggregated over the tie-break seeds (the report quotes this). */
export function idealBalance(seconds = 25) {
  const variants = ['balance', 'bypass'].map((name) => ({ name, w: workload(name === 'bypass', seconds) }));
  const rows = [];
  for (const { name, w } of variants) {
    for (const [policy, make] of Object.entries(POLICIES)) {
      rows.push({ variant: name, policy, ...aggregate(TIE_SEEDS.map((seed) => simulate(w, make(prng(seed))))) });
    }
  }
  const settings = variants.map(({ name, w }) => ({ variant: name, meanMs: w.meanMs, capacity: w.capacity, rate: w.rate, bypassRate: w.bypassRate, requests: w.durations.length, bypassRequests: w.bypassDurations.length, windowMs: w.windowMs, evenShares: w.evenShares }));
  return { seconds, slots: SLOTS, backends: BACKENDS, tieSeeds: TIE_SEEDS, settings, rows };
}

/** The table on stdout, or JSON with --json. @param {string[]} args */
function main(args) {
  const secondsArg = args.indexOf('--seconds');
  // The bench's full / quick run length; --seconds N runs a longer workload to see what is noise.
  const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : args.includes('--quick') ? 2 : 25;
  const result = idealBalance(seconds);
  if (args.includes('--json')) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const { rows } = result;
  const variants = ['balance', 'bypass'].map((name) => ({ name, w: workload(name === 'bypass', seconds) }));
  /** "mean [min-max]", or just the mean when every seed gave the same. @param {{mean: number, min: number, max: number}} s @param {number} d */
  const cell = (s, d) => (Number.isNaN(s.mean) ? '-' : s.max - s.min < 10 ** -d / 2 ? s.mean.toFixed(d) : `${s.mean.toFixed(d)} [${s.min.toFixed(d)}-${s.max.toFixed(d)}]`);
  const pct = (/** @type {number[]} */ xs) => xs.map((x) => (x * 100).toFixed(0)).join('/');
  console.log(`Ideal-balancer simulation, ${seconds} s per run, ${TIE_SEEDS.length} tie-break seeds: mean [min-max]; times in ms`);
  for (const { name, w } of variants) {
    console.log(`${name}: mean duration ${w.meanMs.toFixed(1)} ms, capacity ${w.capacity.toFixed(1)} req/s, balanced ${w.rate} req/s x ${w.durations.length}` +
      `${w.bypassRate ? `, bypass ${w.bypassRate} req/s x ${w.bypassDurations.length} to ${BACKENDS[0].id}` : ''}, window ${w.windowMs.toFixed(0)} ms, even shares ${pct(w.evenShares)}%`);
  }
  const head = ['variant', 'policy', 'imbalance raw', 'imbalance util', 'qwait mean', 'qwait p99', 'latency mean', 'shares %', 'avg active', 'util %', 'bypass qwait mean', 'bypass qwait p99'];
  const table = rows.map((r) => [r.variant, r.policy, cell(r.imbalanceRaw, 3), cell(r.imbalanceUtil, 3), cell(r.queueWaitMean, 1), cell(r.queueWaitP99, 0), cell(r.latencyMean, 1),
    pct(r.shares), r.avgActive.map((/** @type {number} */ x) => x.toFixed(2)).join('/'), pct(r.utilization), cell(r.bypassQueueWaitMean, 1), cell(r.bypassQueueWaitP99, 0)]);
  const widths = head.map((h, c) => Math.max(h.length, ...table.map((t) => t[c].length)));
  const line = (/** @type {string[]} */ cols) => cols.map((x, c) => x.padEnd(widths[c])).join('  ').trimEnd();
  console.log(['', line(head), line(widths.map((n) => '-'.repeat(n))), ...table.map(line)].join('\n'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
