// Scenario 9, added latency at low load: the throughput scenario's targets in front of one minimal
// backend (fast-backend.mjs), but only 2 keep-alive connections in a closed loop, so nothing
// queues and each request shows what one hop through the balancer costs on its own. Latency per
// request from performance.now() in a node:http client (lib/latency-loop.mjs); added latency =
// target p50 - direct p50 of the same round. For ours on Redis, the Redis commands executed per
// request in the measured window: at this load releases are not batched, so it is what a lone
// request costs.
import { cpuSeconds, machineShare, snapshot } from '../lib/cpu.mjs';
import { latencyLoop } from '../lib/latency-loop.mjs';
import { heading, log } from '../lib/log.mjs';
import { commandDelta } from '../lib/stack.mjs';
import { median, withCleanup } from '../lib/util.mjs';
import { startOneBackendTargets } from './throughput.mjs';

const POOL = 'lat';
const CONNECTIONS = 2;

/** @param {import('../lib/stack.mjs').BenchContext} ctx */
export async function runLatency(ctx) {
  const seconds = ctx.quick ? 2 : 8;
  const warmup = ctx.quick ? 0.5 : 2;
  const rounds = ctx.quick ? 1 : 3;
  heading(`scenario 9: added latency at low load (${CONNECTIONS} connections, closed loop, ${seconds} s x ${rounds} round(s) per target)`);
  return withCleanup(async (stops) => {
    log('starting redis, registry, the minimal backend, gateways, peers');
    const { targets, redis } = await startOneBackendTargets(ctx, { tag: 'lat', backendId: 'lat-1', pool: POOL, stops });
    /** @type {Record<string, any[]>} */
    const runs = Object.fromEntries(targets.map((t) => [t.name, []]));
    /** @type {any[]} */
    const redisRuns = [];
    for (let round = 1; round <= rounds; round++) {
      for (const t of targets) {
        const url = `${t.url}/work?ms=0`;
        await latencyLoop(ctx, { url, connections: CONNECTIONS, seconds: warmup, label: `lat-warmup-${t.name}` });
        const before = t.name === 'ours-redis' ? await redis.commandstats() : null;
        const cpu0 = snapshot();
        const r = await latencyLoop(ctx, { url, connections: CONNECTIONS, seconds, label: `lat-${t.name}` });
        const cpu1 = snapshot();
        const cpu = { balancerUsPerRequest: t.pids.length ? (cpuSeconds(cpu0, cpu1, t.pids) * 1e6) / r.requests : 0, ...machineShare(cpu0, cpu1) };
        if (before) {
          const { total, byCommand } = commandDelta(before, await redis.commandstats());
          redisRuns.push({ round, requests: r.requests, commands: total, perRequest: total / r.requests, byCommand });
        }
        runs[t.name].push({ round, ...r, cpu });
        log(
          `  round ${round} ${t.name.padEnd(12)} p50 ${us(r.p50)}  p90 ${us(r.p90)}  p99 ${us(r.p99)} µs  ${r.rps.toFixed(0)} req/s  errors ${r.errors}  ` +
            `balancer CPU ${cpu.balancerUsPerRequest.toFixed(0)} µs/request; other processes ${cpu.foreignCores.toFixed(2)} cores`,
        );
      }
    }
    /** @type {Record<string, any>} */
    const summary = {};
    for (const t of targets) {
      const rs = runs[t.name];
      // Added p50 per round, against direct in the same round (the machine's state drifts between rounds).
      const added = rs.map((x, i) => x.p50 - runs.direct[i].p50);
      summary[t.name] = {
        label: t.label,
        p50: median(rs.map((x) => x.p50)),
        p90: median(rs.map((x) => x.p90)),
        p99: median(rs.map((x) => x.p99)),
        rps: median(rs.map((x) => x.rps)),
        addedP50: { median: median(added), min: Math.min(...added), max: Math.max(...added) },
        errors: rs.reduce((s, x) => s + x.errors, 0),
        requests: rs.reduce((s, x) => s + x.requests, 0),
        balancerCpuUsPerRequest: median(rs.map((x) => x.cpu.balancerUsPerRequest)),
        foreignCores: Math.max(...rs.map((x) => x.cpu.foreignCores)),
      };
      if (t.name !== 'direct') log(`  ${t.name.padEnd(12)} added p50 ${us(summary[t.name].addedP50.median)} µs (${us(summary[t.name].addedP50.min)} to ${us(summary[t.name].addedP50.max)})`);
    }
    const totalRequests = redisRuns.reduce((s, x) => s + x.requests, 0);
    /** @type {Record<string, number>} */
    const byCommandPerRequest = {};
    for (const rr of redisRuns) for (const [k, v] of Object.entries(rr.byCommand)) byCommandPerRequest[k] = (byCommandPerRequest[k] ?? 0) + v / totalRequests;
    const perRequest = median(redisRuns.map((x) => x.perRequest));
    if (redisRuns.length) log(`  Redis commands executed per request (ours, Redis): ${perRequest.toFixed(2)} ${JSON.stringify(Object.fromEntries(Object.entries(byCommandPerRequest).map(([k, v]) => [k, +v.toFixed(2)])))}`);
    return {
      scenario: 'latency',
      settings: { path: '/work?ms=0', connections: CONNECTIONS, seconds, warmupSeconds: warmup, rounds, generator: 'tools/bench/lib/latency-loop.mjs (node:http keep-alive, closed loop, performance.now() per request)' },
      targets: targets.map((t) => t.name),
      runs,
      summary,
      redis: { perRequest, byCommandPerRequest, runs: redisRuns },
    };
  });
}

/** ms as whole µs. @param {number} ms */
const us = (ms) => (Number.isFinite(ms) ? String(Math.round(ms * 1000)) : 'n/a').padStart(5);
