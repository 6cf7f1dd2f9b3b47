// Scenario 10, replicas on one machine: 4 gateway replicas sharing Redis in front of 4 equal
// worker-pool backends (BACKEND_SLOTS), open-loop arrivals at ~70% of their combined capacity
// spread round robin over the replicas; against one nginx least_conn that sees every request, four
// independent nginx that each see a quarter of them (and HAProxy leastconn likewise). Latency,
// in-flight imbalance over the backends (as in the balance scenario) and the CPU the balancers took.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, machineShare, snapshot } from '../lib/cpu.mjs';
import { runChildJson } from '../lib/load.mjs';
import { heading, log } from '../lib/log.mjs';
import { sleep } from '../lib/net.mjs';
import { drawDurations, maxOverMean, mean, mixMean } from '../lib/stats.mjs';
import { commandDelta, sharedCore, startBackend, startGateway, startHaproxy, startNginx, waitRegistered, waitRoutable } from '../lib/stack.mjs';
import { withCleanup } from '../lib/util.mjs';
import { analyse, waitIdle } from './balance.mjs';
import { LOAD, MIX, SEED, SLOTS } from './balance-settings.mjs';

const loadgen = join(dirname(fileURLToPath(import.meta.url)), '..', 'loadgen.mjs');
const POOL = 'replicas';
const BACKENDS = 4;
const REPLICAS = 4;

/**
 * @typedef {object} ReplicaTarget
 * @property {string} name
 * @property {string} label
 * @property {string[]} urls    the balancer processes the arrivals are spread over
 * @property {number[]} pids    their PIDs (nginx/HAProxy: masters; workers are counted as descendants)
 * @property {number} [redisPid]
 */

/** @param {import('../lib/stack.mjs').BenchContext} ctx */
export async function runReplicas(ctx) {
  const seconds = ctx.quick ? 6 : 20;
  const drainMs = ctx.quick ? 5_000 : 20_000;
  const idleMs = ctx.quick ? 1_000 : 3_000;
  const meanMs = mixMean(MIX);
  const capacity = (BACKENDS * SLOTS) / (meanMs / 1000);
  const rate = Math.round(LOAD * capacity * 10) / 10;
  const durations = drawDurations(MIX, Math.round(rate * seconds), SEED);
  heading(`scenario 10: replicas on one machine (${REPLICAS} gateways on one Redis, ${BACKENDS} backends x ${SLOTS} slots; open loop at ${LOAD * 100}% of capacity)`);
  log(`mean duration ${meanMs.toFixed(1)} ms; capacity ${capacity.toFixed(1)} req/s; ${rate} req/s for ${seconds} s (${durations.length} requests), round robin over each target's balancer processes`);
  return withCleanup(async (stops) => {
    const { redis, registry, token, prefix } = await sharedCore(ctx);
    const backends = await Promise.all(
      Array.from({ length: BACKENDS }, (_, i) => startBackend(ctx, { id: `rep-${i + 1}`, pool: POOL, slots: SLOTS, registryUrl: registry.url, token, redisUrl: redis.url, prefix })),
    );
    for (const b of backends) stops.push(b.stop);
    await waitRegistered(registry.url, POOL, backends.map((b) => b.id));
    const urls = backends.map((b) => b.url);
    const replicas = Array.from({ length: REPLICAS }, (_, i) => i + 1);
    const gateways = await Promise.all(replicas.map((i) => startGateway(ctx, { name: `rep-gw-${i}`, redisUrl: redis.url, prefix, pool: POOL })));
    for (const g of gateways) stops.push(g.stop);
    /** @type {ReplicaTarget[]} */
    const targets = [{ name: `ours x${REPLICAS}`, label: `ours: ${REPLICAS} gateways, one Redis`, urls: gateways.map((g) => g.url), pids: gateways.map((g) => g.child.pid), redisPid: redis.child.pid }];
    /** @type {[string, string, typeof startNginx][]} */
    const peers = [];
    if (ctx.tools.nginx) peers.push(['nginx', 'nginx least_conn', startNginx]);
    if (ctx.tools.haproxy) peers.push(['haproxy', 'HAProxy leastconn', startHaproxy]);
    for (const [name, label, start] of peers) {
      const ps = await Promise.all(replicas.map((i) => start(ctx, { name: `rep-${name}-${i}`, backends: urls })));
      for (const p of ps) stops.push(p.stop);
      targets.push({ name: `${name} x1`, label: `${label}, one process sees every request`, urls: [ps[0].url], pids: [ps[0].child.pid] });
      targets.push({ name: `${name} x${REPLICAS}`, label: `${label}, ${REPLICAS} independent processes`, urls: ps.map((p) => p.url), pids: ps.map((p) => p.child.pid) });
    }
    for (const t of targets) for (const u of t.urls) await waitRoutable(u);

    /** @type {any[]} */
    const runs = [];
    for (const t of targets) {
      await waitIdle(backends, ctx.quick ? 3_000 : 60_000);
      // JIT and connection warm-up through every process of the target: short requests at the same rate.
      const warmN = Math.round(rate * (ctx.quick ? 1 : 4));
      await runChildJson(ctx, `replicas-warmup-${t.name.replace(' ', '-')}`, loadgen, { mode: 'open', streams: [{ name: 'warmup', urls: t.urls, rate, durations: Array(warmN).fill(5), pathPrefix: '/work?ms=' }], drainMs: 5_000, hardDeadlineMs: 60_000 }, { quietProgress: true });
      await waitIdle(backends, ctx.quick ? 3_000 : 60_000);
      // What the balancer processes burn with no traffic (timers, beats, view refreshes).
      const idle0 = snapshot();
      await sleep(idleMs);
      const idleCores = cpuSeconds(idle0, snapshot(), [...t.pids, ...(t.redisPid ? [t.redisPid] : [])]) / (idleMs / 1000);
      log(`run ${t.name}: ${durations.length} requests over ${seconds} s (balancers at idle: ${idleCores.toFixed(3)} cores)`);
      const commands0 = t.redisPid ? await redis.commandstats() : null;
      const cpu0 = snapshot();
      const raw = await runChildJson(ctx, `replicas-${t.name.replace(' ', '-')}`, loadgen, {
        mode: 'open',
        streams: [{ name: 'balanced', urls: t.urls, rate, durations, pathPrefix: '/work?ms=' }],
        infoUrls: urls,
        drainMs,
        sampleEveryMs: 250,
        progressEveryMs: ctx.quick ? 3_000 : 10_000,
        hardDeadlineMs: seconds * 1000 + drainMs + 30_000,
      });
      const cpu1 = snapshot();
      const redisCommands = commands0 ? commandDelta(commands0, await redis.commandstats()) : null;
      const a = analyse(raw, backends, backends.map(() => 1 / BACKENDS));
      const balancerSeconds = cpuSeconds(cpu0, cpu1, t.pids);
      const redisSeconds = t.redisPid ? cpuSeconds(cpu0, cpu1, [t.redisPid]) : 0;
      const run = {
        target: t.name,
        label: t.label,
        processes: t.urls.length,
        latency: a.balanced.latency,
        queueWait: a.balanced.queueWait,
        sent: a.balanced.sent,
        errors: a.balanced.errors,
        unfinished: a.unfinished,
        imbalance: { timeAveraged: a.imbalance.raw, sampled: sampledImbalance(raw), utilization: a.imbalance.utilization },
        redisCommandsPerRequest: redisCommands ? redisCommands.total / a.balanced.sent : null,
        backends: a.backends.map((x) => ({ id: x.id, share: x.share, avgLoad: x.avgLoad, utilization: x.utilization })),
        cpu: { balancerSeconds, redisSeconds, balancerCores: balancerSeconds / seconds, redisCores: redisSeconds / seconds, idleCores, ...machineShare(cpu0, cpu1) },
      };
      runs.push(run);
      const l = run.latency;
      log(
        `  ${t.name.padEnd(10)} mean ${l.mean.toFixed(0)} ms  p50 ${l.p50.toFixed(0)}  p99 ${l.p99.toFixed(0)}  errors ${run.errors}  imbalance ${run.imbalance.timeAveraged.toFixed(2)} (sampled ${run.imbalance.sampled.toFixed(2)})  ` +
          `queue wait mean ${run.queueWait?.mean.toFixed(1) ?? 'n/a'} ms  balancer CPU ${run.cpu.balancerCores.toFixed(2)} cores${t.redisPid ? ` + Redis ${run.cpu.redisCores.toFixed(2)} (${run.redisCommandsPerRequest?.toFixed(1)} commands/request)` : ''}; other processes ${run.cpu.foreignCores.toFixed(2)} cores`,
      );
    }
    return {
      scenario: 'replicas',
      settings: { backends: BACKENDS, slots: SLOTS, replicas: REPLICAS, mix: MIX, meanDurationMs: meanMs, capacity, load: LOAD, rate, seconds, drainMs, seed: SEED, requests: durations.length, idleMs, generator: 'tools/bench/loadgen.mjs open loop (round robin over the target\'s processes, latency from the scheduled send time)' },
      runs,
    };
  });
}

/**
 * Mean over the 250 ms samples taken while arrivals ran of max/mean of the backends' in-flight +
 * queued count (instants with nothing in flight left out): how uneven the load is at any moment,
 * where the time average can even out swings.
 * @param {any} raw  loadgen.mjs result
 */
function sampledImbalance(raw) {
  const ratios = raw.samples
    .filter((/** @type {any} */ s) => s.at >= raw.infoStartAt && s.at <= raw.infoEndAt)
    .map((/** @type {any} */ s) => maxOverMean(s.infos.map((/** @type {any} */ x) => x?.active ?? 0)))
    .filter((/** @type {number} */ x) => Number.isFinite(x));
  return mean(ratios);
}
