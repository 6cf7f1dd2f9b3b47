// Scenarios 2 (balance) and 3 (bypass): 4 worker-pool backends (BACKEND_SLOTS), one 3x slower,
// heavy-tailed request durations from a seeded PRNG (the same sequence for every target), open-loop
// arrivals at ~70% of total capacity, through ONE instance of each balancer and through SEVERAL
// (ours: gateways sharing Redis; peers: independent processes with the full backend list), arrivals
// split round robin over the instances. Bypass adds a client that sends straight to one backend.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChildJson } from '../lib/load.mjs';
import { cpuSeconds, machineShare, snapshot } from '../lib/cpu.mjs';
import { heading, log } from '../lib/log.mjs';
import { waitUntil } from '../lib/net.mjs';
import { drawDurations, maxOverMean, mean, mixMean, summary } from '../lib/stats.mjs';
import { BACKENDS, BYPASS_LOAD, BYPASS_SEED, INSTANCES, LOAD, MIX, SEED, SLOTS } from './balance-settings.mjs';
import { sharedCore, startBackend, startGateway, startHaproxy, startNginx, waitRegistered, waitRoutable } from '../lib/stack.mjs';

const loadgen = join(dirname(fileURLToPath(import.meta.url)), '..', 'loadgen.mjs');

const POOL = 'balance';

/**
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {{bypass: boolean, keepStack?: boolean}} o  keepStack: leave the processes running for the next balance/bypass run
 */
export async function runBalance(ctx, o) {
  const name = o.bypass ? 'bypass' : 'balance';
  heading(`scenario ${o.bypass ? 3 : 2}: ${name} (4 backends x ${SLOTS} slots, one ${BACKENDS[3].slowdown}x slower; open loop at ${LOAD * 100}% of capacity${o.bypass ? `; + direct client at ${BYPASS_LOAD * 100}% of ${BACKENDS[0].id}` : ''})`);
  const seconds = ctx.quick ? 2 : 25;
  const drainMs = ctx.quick ? 1_000 : 20_000;

  // Capacity: each backend completes slots / (mean duration x slowdown) requests per second.
  const meanMs = mixMean(MIX);
  const caps = BACKENDS.map((b) => SLOTS / ((meanMs * b.slowdown) / 1000));
  const capacity = caps.reduce((a, b) => a + b, 0);
  const rate = Math.round(LOAD * capacity * 10) / 10;
  const bypassRate = o.bypass ? Math.round(BYPASS_LOAD * caps[0] * 10) / 10 : 0;
  // The share of balanced requests per backend that evens out utilization (requests / capacity).
  const u = (rate + bypassRate) / capacity;
  const evenShares = caps.map((c, i) => (u * c - (i === 0 ? bypassRate : 0)) / rate);
  log(`mean duration ${meanMs.toFixed(1)} ms; capacity ${caps.map((c) => c.toFixed(1)).join(' + ')} = ${capacity.toFixed(1)} req/s; balanced rate ${rate} req/s (${LOAD * 100}%)${o.bypass ? `; bypass ${bypassRate} req/s straight to ${BACKENDS[0].id}` : ''}; ${seconds} s per run`);
  log(`share of balanced requests that evens out utilization: ${BACKENDS.map((b, i) => `${b.id} ${(evenShares[i] * 100).toFixed(1)}%`).join(', ')}`);

  const durations = drawDurations(MIX, Math.round(rate * seconds), SEED);
  const bypassDurations = o.bypass ? drawDurations(MIX, Math.round(bypassRate * seconds), BYPASS_SEED) : [];

  const stack = ctx.balanceStack ?? (await startBalanceStack(ctx));
  ctx.balanceStack = o.keepStack ? stack : undefined;
  try {
    const { backends, instances, instancePids, slotsSupported } = stack;
    const urls = backends.map((b) => b.url);
    /** @type {any[]} */
    const runs = [];
    // In a quick run, bypass is only run through several instances (the code path is the same).
    const counts = ctx.quick && o.bypass ? [INSTANCES] : [1, INSTANCES];
    for (const count of counts) {
      for (const [target, list] of Object.entries(instances)) {
        const label = `${target} x${count}`;
        await waitIdle(backends, ctx.quick ? 3_000 : 60_000);
        if (!stack.warm.has(target)) {
          // JIT and connection warm-up of every instance of this target (Node needs it; nginx and
          // HAProxy do not, but they get the same): short requests at the same rate, not measured.
          stack.warm.add(target);
          const warmN = Math.round(rate * (ctx.quick ? 1 : 4));
          await runChildJson(ctx, `${name}-warmup-${target}`, loadgen, { mode: 'open', streams: [{ name: 'warmup', urls: list, rate, durations: Array(warmN).fill(5), pathPrefix: '/work?ms=' }], drainMs: 5_000, hardDeadlineMs: 60_000 }, { quietProgress: true });
          await waitIdle(backends);
        }
        log(`run ${label}: ${durations.length} requests over ${seconds} s${o.bypass ? ` + ${bypassDurations.length} bypass` : ''}`);
        /** @type {any[]} */
        const streams = [{ name: 'balanced', urls: list.slice(0, count), rate, durations, pathPrefix: '/work?ms=' }];
        if (o.bypass) streams.push({ name: 'bypass', urls: [backends[0].url], rate: bypassRate, durations: bypassDurations, pathPrefix: '/work?ms=' });
        const cpu0 = snapshot();
        const raw = await runChildJson(ctx, `${name}-${target}-x${count}`, loadgen, {
          mode: 'open',
          streams,
          infoUrls: urls,
          drainMs,
          sampleEveryMs: 250,
          progressEveryMs: ctx.quick ? 2_000 : 10_000,
          hardDeadlineMs: seconds * 1000 + drainMs + 30_000,
        });
        const cpu1 = snapshot();
        const analysed = analyse(raw, backends, evenShares);
        const cpu = { balancerSeconds: cpuSeconds(cpu0, cpu1, instancePids[target].slice(0, count)), ...machineShare(cpu0, cpu1) };
        runs.push({ target, instances: count, label, ...analysed, cpu });
        const b = analysed.balanced;
        log(
          `  ${label.padEnd(10)} mean ${b.latency.mean.toFixed(0)} ms  p50 ${b.latency.p50.toFixed(0)}  p99 ${b.latency.p99.toFixed(0)}  p99.9 ${b.latency.p999.toFixed(0)}  ` +
            `queue wait mean ${fmtN(b.queueWait?.mean)} p99 ${fmtN(b.queueWait?.p99)}  imbalance ${analysed.imbalance.raw.toFixed(2)} (util ${analysed.imbalance.utilization.toFixed(2)})  ` +
            `shares ${analysed.backends.map((x) => `${(x.share * 100).toFixed(0)}%`).join('/')}  errors ${b.errors}  other processes ${cpu.foreignCores.toFixed(2)} cores`,
        );
      }
    }
    return {
      scenario: name,
      settings: {
        mix: MIX,
        meanDurationMs: meanMs,
        slots: SLOTS,
        backends: BACKENDS,
        capacityPerBackend: caps,
        capacity,
        load: LOAD,
        rate,
        bypassRate,
        bypassBackend: o.bypass ? BACKENDS[0].id : null,
        evenShares,
        seconds,
        drainMs,
        seed: SEED,
        instances: INSTANCES,
        requests: durations.length,
        slotsSupported,
        generator: 'tools/bench/loadgen.mjs open loop (undici Pool per instance, deterministic arrivals i/rate, latency from the scheduled send time)',
      },
      runs,
    };
  } finally {
    if (!o.keepStack) await stack.stop();
  }
}

/**
 * Redis, registry, the 4 worker-pool backends, 3 gateways, 3 nginx and 3 HAProxy processes: shared
 * by the balance and bypass scenarios when both run.
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 */
async function startBalanceStack(ctx) {
  /** @type {(() => Promise<unknown>)[]} */
  const stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const { redis, registry, token, prefix } = await sharedCore(ctx);
    log(`starting 4 backends, ${INSTANCES} gateways${ctx.tools.nginx ? `, ${INSTANCES} nginx` : ''}${ctx.tools.haproxy ? `, ${INSTANCES} haproxy` : ''}`);
    const backends = await Promise.all(
      BACKENDS.map((b) => startBackend(ctx, { id: b.id, pool: POOL, slowdown: b.slowdown, slots: SLOTS, registryUrl: registry.url, token, redisUrl: redis.url, prefix })),
    );
    for (const b of backends) stops.push(b.stop);
    await waitRegistered(registry.url, POOL, backends.map((b) => b.id));
    const probe = await backends[0].info();
    const slotsSupported = Boolean(probe && 'activeIntegralMs' in probe && probe.slots != null);
    if (!slotsSupported) log('note: this backend-sim build has no BACKEND_SLOTS / activeIntegralMs yet: no queueing, imbalance from sampled active counts');
    const gateways = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startGateway(ctx, { name: `balance-gw-${i + 1}`, redisUrl: redis.url, prefix, pool: POOL })));
    for (const g of gateways) stops.push(g.stop);
    const urls = backends.map((b) => b.url);
    /** @type {Record<string, string[]>} */
    const instances = { ours: gateways.map((g) => g.url) };
    /** @type {Record<string, number[]>} */
    const instancePids = { ours: gateways.map((g) => g.child.pid) };
    if (ctx.tools.nginx) {
      const ngs = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startNginx(ctx, { name: `balance-nginx-${i + 1}`, backends: urls })));
      for (const n of ngs) stops.push(n.stop);
      instances.nginx = ngs.map((n) => n.url);
      instancePids.nginx = ngs.map((n) => n.child.pid);
    }
    if (ctx.tools.haproxy) {
      const hps = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startHaproxy(ctx, { name: `balance-haproxy-${i + 1}`, backends: urls })));
      for (const h of hps) stops.push(h.stop);
      instances.haproxy = hps.map((h) => h.url);
      instancePids.haproxy = hps.map((h) => h.child.pid);
    }
    for (const list of Object.values(instances)) for (const url of list) await waitRoutable(url);
    return { backends, instances, instancePids, slotsSupported, warm: new Set(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** @param {number|undefined} x */
const fmtN = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(0));

/**
 * Waits until every backend is idle (nothing running or queued) before the next run.
 * @param {import('../lib/stack.mjs').BackendHandle[]} backends
 */
export async function waitIdle(backends, timeoutMs = 60_000) {
  // HAProxy (without `option abortonclose`) lets a request run on even after its client left.
  await waitUntil('backends idle', async () => (await Promise.all(backends.map((b) => b.info()))).every((i) => i.active === 0), timeoutMs, 200).catch((err) => {
    if (timeoutMs >= 60_000) throw err;
  });
}

/**
 * Latency, queue wait, shares and imbalance of one open-loop run.
 * @param {any} raw  loadgen.mjs result
 * @param {import('../lib/stack.mjs').BackendHandle[]} backends
 * @param {number[]} evenShares
 */
export function analyse(raw, backends, evenShares) {
  const cols = raw.columns;
  const ix = Object.fromEntries(cols.map((/** @type {string} */ c, /** @type {number} */ i) => [c, i]));
  const windowMs = raw.infoEndAt - raw.infoStartAt;
  /** @param {number} si */
  const streamStats = (si) => {
    const recs = raw.records.filter((/** @type {any[]} */ r) => r[ix.stream] === si);
    const ok = recs.filter((/** @type {any[]} */ r) => r[ix.status] >= 200 && r[ix.status] < 400);
    const qws = ok.map((/** @type {any[]} */ r) => r[ix.queueWaitMs]).filter((/** @type {any} */ x) => x !== null && !Number.isNaN(x));
    return {
      sent: recs.length,
      ok: ok.length,
      errors: recs.length - ok.length,
      latency: summary(ok.map((/** @type {any[]} */ r) => r[ix.latencyMs])),
      queueWait: qws.length ? summary(qws) : null,
    };
  };
  const balanced = streamStats(0);
  const bypass = raw.streams.length > 1 ? streamStats(1) : null;
  const per = backends.map((b, bi) => {
    const recs = raw.records.filter((/** @type {any[]} */ r) => r[ix.backendId] === b.id);
    const bal = recs.filter((/** @type {any[]} */ r) => r[ix.stream] === 0);
    const s = raw.infoStart?.[bi];
    const e = raw.infoEnd?.[bi];
    let avgLoad = NaN;
    let source = 'none';
    if (s && e && typeof s.activeIntegralMs === 'number' && typeof e.activeIntegralMs === 'number') {
      const dt = typeof s.uptimeMs === 'number' ? e.uptimeMs - s.uptimeMs : windowMs;
      avgLoad = (e.activeIntegralMs - s.activeIntegralMs) / dt;
      source = 'activeIntegralMs';
    } else {
      const xs = raw.samples.filter((/** @type {any} */ x) => x.at >= raw.infoStartAt && x.at <= raw.infoEndAt).map((/** @type {any} */ x) => x.infos[bi]?.active).filter((/** @type {any} */ v) => typeof v === 'number');
      avgLoad = mean(xs);
      source = 'sampled active (250 ms)';
    }
    // Busy slot time of what this backend served (both streams), arrivals within the window.
    const busyMs = recs
      .filter((/** @type {any[]} */ r) => r[ix.scheduledMs] <= windowMs + raw.infoStartAt)
      .reduce((/** @type {number} */ acc, /** @type {any[]} */ r) => acc + r[ix.durationMs] * b.slowdown, 0);
    const utilization = busyMs / ((b.slots || 4) * windowMs);
    let infoQueueWait = null;
    if (s?.queueWait && e?.queueWait) {
      const n = e.queueWait.count - s.queueWait.count;
      infoQueueWait = { count: n, meanMs: n > 0 ? (e.queueWait.totalMs - s.queueWait.totalMs) / n : 0, maxMs: e.queueWait.maxMs };
    }
    const qws = bal.map((/** @type {any[]} */ r) => r[ix.queueWaitMs]).filter((/** @type {any} */ x) => x !== null && !Number.isNaN(x));
    return {
      id: b.id,
      slowdown: b.slowdown,
      requests: bal.length,
      share: balanced.ok ? bal.length / balanced.ok : NaN,
      evenShare: evenShares[bi],
      bypassRequests: recs.length - bal.length,
      avgLoad,
      loadSource: source,
      utilization,
      queueWaitMean: qws.length ? mean(qws) : NaN,
      infoQueueWait,
    };
  });
  return {
    windowMs,
    balanced,
    bypass,
    backends: per,
    imbalance: {
      raw: maxOverMean(per.map((p) => p.avgLoad)),
      utilization: maxOverMean(per.map((p) => p.utilization)),
    },
    unfinished: raw.errorKinds?.['unfinished at drain deadline'] ?? 0,
    errorKinds: raw.errorKinds,
  };
}
