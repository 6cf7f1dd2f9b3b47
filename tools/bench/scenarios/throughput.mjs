// Scenario 1, throughput: one fast backend (/work?ms=0), closed-loop keep-alive load, the same wrk
// command against every target: direct, ours (memory store), ours (Redis), nginx, HAProxy.
import { closedLoop } from '../lib/load.mjs';
import { heading, log } from '../lib/log.mjs';
import { median } from '../lib/util.mjs';
import { monitorSample } from '../lib/redis-monitor.mjs';
import { commandDelta, randomToken, startBackend, startGateway, startHaproxy, startNginx, startRedis, startRegistry, startStandalone, waitRegistered, waitRoutable } from '../lib/stack.mjs';

/**
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 */
export async function runThroughput(ctx) {
  heading('scenario 1: throughput (/work?ms=0, closed loop, keep-alive)');
  const seconds = ctx.quick ? 3 : 10;
  const warmup = ctx.quick ? 1 : 2;
  const rounds = ctx.quick ? 1 : 2;
  const connections = 64;
  const prefix = 'bench';
  const token = randomToken();
  /** @type {(() => Promise<void>)[]} */
  const stops = [];
  try {
    log('starting redis, registry, backends, gateways, peers');
    const redis = await startRedis(ctx, 's1-redis');
    stops.push(redis.stop);
    const [registry, standalone] = await Promise.all([
      startRegistry(ctx, { name: 's1-registry', redisUrl: redis.url, prefix, token }),
      startStandalone(ctx, { name: 's1-ours-memory', token }),
    ]);
    stops.push(registry.stop, standalone.stop);
    const [backend, memBackend] = await Promise.all([
      startBackend(ctx, { id: 'tput-1', registryUrl: registry.url, token, redisUrl: redis.url, prefix }),
      startBackend(ctx, { id: 'tput-mem-1', registryUrl: standalone.registryUrl, token }),
    ]);
    stops.push(backend.stop, memBackend.stop);
    await Promise.all([waitRegistered(registry.url, 'default', [backend.id]), waitRegistered(standalone.registryUrl, 'default', [memBackend.id])]);
    const gateway = await startGateway(ctx, { name: 's1-ours-redis', redisUrl: redis.url, prefix });
    stops.push(gateway.stop);
    /** @type {{name: string, label: string, url: string, baseline: string}[]} */
    const targets = [
      { name: 'direct', label: 'direct (backend reporting to Redis)', url: backend.url, baseline: 'direct' },
      { name: 'direct-mem', label: 'direct (backend reporting by heartbeat)', url: memBackend.url, baseline: 'direct-mem' },
      { name: 'ours-memory', label: 'ours, memory store (standalone)', url: standalone.url, baseline: 'direct-mem' },
      { name: 'ours-redis', label: 'ours, Redis (1 gateway)', url: gateway.url, baseline: 'direct' },
    ];
    if (ctx.tools.nginx) {
      const nginx = await startNginx(ctx, { name: 's1-nginx', backends: [backend.url] });
      stops.push(nginx.stop);
      targets.push({ name: 'nginx', label: 'nginx least_conn', url: nginx.url, baseline: 'direct' });
    }
    if (ctx.tools.haproxy) {
      const haproxy = await startHaproxy(ctx, { name: 's1-haproxy', backends: [backend.url] });
      stops.push(haproxy.stop);
      targets.push({ name: 'haproxy', label: 'HAProxy leastconn', url: haproxy.url, baseline: 'direct' });
    }
    for (const t of targets) await waitRoutable(t.url);

    /** @type {Record<string, any[]>} */
    const runs = Object.fromEntries(targets.map((t) => [t.name, []]));
    /** @type {any[]} */
    const redisRuns = [];
    for (let round = 1; round <= rounds; round++) {
      for (const t of targets) {
        const url = `${t.url}/work?ms=0`;
        await closedLoop(ctx, { url, connections, seconds: warmup, label: `s1-warmup-${t.name}` });
        const before = t.name === 'ours-redis' ? await redis.commandstats() : null;
        const r = await closedLoop(ctx, { url, connections, seconds, label: `s1-${t.name}` });
        if (before) {
          const { total, byCommand: delta } = commandDelta(before, await redis.commandstats());
          redisRuns.push({ round, requests: r.requests, commands: total, perRequest: total / r.requests, byCommand: delta });
        }
        const { raw, ...rest } = r;
        runs[t.name].push({ round, ...rest });
        log(`  round ${round} ${t.name.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`);
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
      settings: { path: '/work?ms=0', connections, seconds, warmupSeconds: warmup, rounds, generator: ctx.tools.wrk ? `wrk -t1 -c${connections} -d${seconds}s --latency` : 'node closed loop (wrk missing)', standaloneNote: standalone.note },
      targets: targets.map((t) => t.name),
      runs,
      summary,
      redis: { perRequest, byCommandPerRequest, runs: redisRuns, monitor },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
