// Scenario 1, throughput: one minimal backend (tools/bench/fast-backend.mjs: node:http answering 64
// bytes, so the balancer is the bottleneck, not the backend), closed-loop keep-alive load, the same
// wrk command against every target: direct, ours (memory store), ours (Redis), a bare Node proxy
// for reference (floor-proxy.mjs), nginx, HAProxy.
import { closedLoop } from '../lib/load.mjs';
import { heading, log } from '../lib/log.mjs';
import { median } from '../lib/util.mjs';
import { monitorSample } from '../lib/redis-monitor.mjs';
import { cpuSeconds, machineShare, snapshot } from '../lib/cpu.mjs';
import { commandDelta, randomToken, sharedCore, startFastBackend, startFloorProxy, startGateway, startHaproxy, startNginx, startStandalone, waitRegistered, waitRoutable } from '../lib/stack.mjs';

/**
 * @typedef {object} Target
 * @property {string} name
 * @property {string} label
 * @property {string} url
 * @property {string} baseline   the target this one is compared with (direct)
 * @property {number[]} pids     the balancer's processes (none for direct)
 * @property {number} backendPid
 */

const POOL = 'tput';

/**
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 */
export async function runThroughput(ctx) {
  heading('scenario 1: throughput (a minimal backend, closed loop, keep-alive)');
  const seconds = ctx.quick ? 2 : 8;
  const warmup = ctx.quick ? 1 : 2;
  const rounds = ctx.quick ? 1 : 3;
  const connections = 64;
  /** @type {(() => Promise<unknown>)[]} */
  const stops = [];
  try {
    log('starting redis, registry, backends, gateways, peers');
    const { targets, redis, standalone } = await startOneBackendTargets(ctx, { tag: 's1', backendId: 'tput-1', pool: POOL, stops });

    /** @type {Record<string, any[]>} */
    const runs = Object.fromEntries(targets.map((t) => [t.name, []]));
    /** @type {any[]} */
    const redisRuns = [];
    for (let round = 1; round <= rounds; round++) {
      for (const t of targets) {
        const url = `${t.url}/work?ms=0`;
        await closedLoop(ctx, { url, connections, seconds: warmup, label: `s1-warmup-${t.name}` });
        const before = t.name === 'ours-redis' ? await redis.commandstats() : null;
        const cpu0 = snapshot();
        const r = await closedLoop(ctx, { url, connections, seconds, label: `s1-${t.name}` });
        const cpu1 = snapshot();
        const cpu = {
          balancerMsPerRequest: t.pids.length ? (cpuSeconds(cpu0, cpu1, t.pids) * 1000) / r.requests : 0,
          redisMsPerRequest: t.name === 'ours-redis' ? (cpuSeconds(cpu0, cpu1, [redis.child.pid]) * 1000) / r.requests : 0,
          backendMsPerRequest: (cpuSeconds(cpu0, cpu1, [t.backendPid]) * 1000) / r.requests,
          ...machineShare(cpu0, cpu1),
        };
        if (before) {
          const { total, byCommand: delta } = commandDelta(before, await redis.commandstats());
          redisRuns.push({ round, requests: r.requests, commands: total, perRequest: total / r.requests, byCommand: delta });
        }
        const { raw, ...rest } = r;
        runs[t.name].push({ round, ...rest, cpu });
        log(
          `  round ${round} ${t.name.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  ` +
            `CPU/request: balancer ${cpu.balancerMsPerRequest.toFixed(3)} ms${cpu.redisMsPerRequest ? ` + redis ${cpu.redisMsPerRequest.toFixed(3)} ms` : ''}, backend ${cpu.backendMsPerRequest.toFixed(3)} ms; other processes ${cpu.foreignCores.toFixed(2)} cores`,
        );
      }
    }
    const gw = targets.find((t) => t.name === 'ours-redis');
    const monitor = gw ? await monitorSample(redis.url, gw.url, { requests: ctx.quick ? 500 : 2_000, concurrency: 16, path: '/work?ms=0' }) : null;
    if (monitor) log(`  Redis per proxied request (MONITOR sample of ${monitor.requests}): ${monitor.sentPerRequest.toFixed(2)} commands sent by clients ${JSON.stringify(Object.fromEntries(Object.entries(monitor.sentByCommand).map(([k, v]) => [k, +v.toFixed(2)])))}, ${monitor.luaPerRequest.toFixed(2)} run inside Lua`);
    /** @type {Record<string, any>} */
    const summary = {};
    for (const t of targets) {
      const rs = runs[t.name];
      summary[t.name] = {
        label: t.label,
        baseline: t.baseline,
        rps: median(rs.map((x) => x.rps)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        errors: rs.reduce((s, x) => s + x.errors, 0),
        requests: rs.reduce((s, x) => s + x.requests, 0),
        balancerCpuMsPerRequest: median(rs.map((x) => x.cpu.balancerMsPerRequest)),
        redisCpuMsPerRequest: median(rs.map((x) => x.cpu.redisMsPerRequest)),
        backendCpuMsPerRequest: median(rs.map((x) => x.cpu.backendMsPerRequest)),
        foreignCores: Math.max(...rs.map((x) => x.cpu.foreignCores)),
      };
    }
    for (const t of targets) {
      const s = summary[t.name];
      s.ratioToDirect = s.rps / summary[t.baseline].rps;
      s.ratioToNginx = summary.nginx ? s.rps / summary.nginx.rps : NaN;
    }
    const perRequest = median(redisRuns.map((x) => x.perRequest));
    /** @type {Record<string, number>} */
    const byCommandPerRequest = {};
    const totalReq = redisRuns.reduce((s, x) => s + x.requests, 0);
    for (const rr of redisRuns) for (const [k, v] of Object.entries(rr.byCommand)) byCommandPerRequest[k] = (byCommandPerRequest[k] ?? 0) + v / totalReq;
    return {
      scenario: 'throughput',
      settings: { path: '/work?ms=0', connections, seconds, warmupSeconds: warmup, rounds, generator: ctx.tools.wrk ? `wrk -t1 -c${connections} -d${seconds}s --latency` : 'node closed loop (wrk missing)', standaloneNote: standalone?.note ?? '' },
      targets: targets.map((t) => t.name),
      runs,
      summary,
      redis: { perRequest, byCommandPerRequest, runs: redisRuns, monitor },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

/**
 * One minimal backend (fast-backend.mjs) and the targets in front of it: direct, ours on the memory
 * store (standalone), ours on Redis (one gateway on the shared core), the bare Node proxy, nginx and
 * HAProxy (when installed); each routable when this resolves. What it starts is pushed on `stops`.
 * `only`: just these targets (direct always); `nodeArgs`: node flags for our processes, by target
 * (e.g. --cpu-prof).
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {{tag: string, backendId: string, pool: string, stops: (() => Promise<unknown>)[], only?: string[], nodeArgs?: (target: string) => string[]}} o
 */
export async function startOneBackendTargets(ctx, o) {
  const want = (/** @type {string} */ name) => !o.only || o.only.includes(name);
  const nodeArgs = (/** @type {string} */ name) => o.nodeArgs?.(name) ?? [];
  const [{ redis, registry, token, prefix }, standalone] = await Promise.all([
    sharedCore(ctx),
    want('ours-memory') ? startStandalone(ctx, { name: `${o.tag}-ours-memory`, token: randomToken(), nodeArgs: nodeArgs('ours-memory') }) : null,
  ]);
  if (standalone) o.stops.push(standalone.stop);
  // One backend for every target, joined to both registries (the shared one and the standalone's).
  const registries = [{ url: registry.url, token, pool: o.pool }];
  if (standalone) registries.push({ url: standalone.registryUrl, token: standalone.token, pool: 'default' });
  const backend = await startFastBackend(ctx, { id: o.backendId, registries });
  o.stops.push(backend.stop);
  await Promise.all(registries.map((r) => waitRegistered(r.url, r.pool, [backend.id])));
  const backendPid = backend.child.pid;
  /** @type {Target[]} */
  const targets = [{ name: 'direct', label: 'direct (the minimal backend)', url: backend.url, baseline: 'direct', pids: [], backendPid }];
  if (standalone) targets.push({ name: 'ours-memory', label: 'ours, memory store (standalone)', url: standalone.url, baseline: 'direct', pids: [standalone.child.pid], backendPid });
  if (want('ours-redis')) {
    const gateway = await startGateway(ctx, { name: `${o.tag}-ours-redis`, redisUrl: redis.url, prefix, pool: o.pool, nodeArgs: nodeArgs('ours-redis') });
    o.stops.push(gateway.stop);
    targets.push({ name: 'ours-redis', label: 'ours, Redis (1 gateway)', url: gateway.url, baseline: 'direct', pids: [gateway.child.pid], backendPid });
  }
  if (want('node-floor')) {
    const floor = await startFloorProxy(ctx, { name: `${o.tag}-node-floor`, backendUrls: [backend.url] });
    o.stops.push(floor.stop);
    targets.push({ name: 'node-floor', label: 'reference: bare Node proxy (node:http + undici dispatch, local least-connections)', url: floor.url, baseline: 'direct', pids: [floor.child.pid], backendPid });
  }
  if (ctx.tools.nginx && want('nginx')) {
    const nginx = await startNginx(ctx, { name: `${o.tag}-nginx`, backends: [backend.url] });
    o.stops.push(nginx.stop);
    targets.push({ name: 'nginx', label: 'nginx least_conn', url: nginx.url, baseline: 'direct', pids: [nginx.child.pid], backendPid });
  }
  if (ctx.tools.haproxy && want('haproxy')) {
    const haproxy = await startHaproxy(ctx, { name: `${o.tag}-haproxy`, backends: [backend.url] });
    o.stops.push(haproxy.stop);
    targets.push({ name: 'haproxy', label: 'HAProxy leastconn', url: haproxy.url, baseline: 'direct', pids: [haproxy.child.pid], backendPid });
  }
  for (const t of targets) await waitRoutable(t.url);
  return { targets, redis, backend, standalone };
}
