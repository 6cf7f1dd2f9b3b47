// Scenario 6, redirect (issue 4): redirect decisions per second (307 + signed token, not followed)
// on a GATEWAY_MODE=redirect gateway vs proxied requests per second on a proxy-mode gateway, same
// backends, same Redis, same run, same wrk command.
import { closedLoop } from '../lib/load.mjs';
import { cpuSeconds, machineShare, snapshot } from '../lib/cpu.mjs';
import { heading, log } from '../lib/log.mjs';
import { httpJson } from '../lib/net.mjs';
import { median, withCleanup } from '../lib/util.mjs';
import { commandDelta, randomRedirectKeys, sharedCore, startBackend, startGateway, waitRegistered, waitRoutable } from '../lib/stack.mjs';

const POOL = 'redirect';

/** @param {import('../lib/stack.mjs').BenchContext} ctx */
export async function runRedirect(ctx) {
  const seconds = ctx.quick ? 2 : 10;
  const warmup = ctx.quick ? 1 : 2;
  const rounds = ctx.quick ? 1 : 2;
  const connections = 64;
  heading('scenario 6: redirect decisions vs proxied requests (/work?ms=0, closed loop, 3 backends)');
  return withCleanup(async (stops) => {
    const { redis, registry, token, prefix } = await sharedCore(ctx);
    const backends = await Promise.all([1, 2, 3].map((i) => startBackend(ctx, { id: `redir-${i}`, pool: POOL, registryUrl: registry.url, token, redisUrl: redis.url, prefix })));
    for (const b of backends) stops.push(b.stop);
    await waitRegistered(registry.url, POOL, backends.map((b) => b.id));
    const [proxy, redirect] = await Promise.all([
      startGateway(ctx, { name: 'redir-gw-proxy', redisUrl: redis.url, prefix, pool: POOL }),
      startGateway(ctx, { name: 'redir-gw-redirect', redisUrl: redis.url, prefix, pool: POOL, mode: 'redirect', redirectKeys: randomRedirectKeys() }),
    ]);
    stops.push(proxy.stop, redirect.stop);
    await waitRoutable(proxy.url);
    // One decision by hand: it must be a 307 to a backend with a token.
    const probe = await httpJson(`${redirect.url}/work?ms=0`);
    const location = String(probe.headers.location ?? '');
    if (probe.status !== 307 || !backends.some((b) => location.startsWith(b.url))) throw new Error(`redirect gateway answered ${probe.status} (location ${location || 'none'}), expected 307 to a backend`);
    log(`probe: 307 -> ${location.replace(/([?&][^=]+=)[^&]{12,}/, '$1…')}`);

    const targets = [
      { name: 'proxy', url: proxy.url, pid: proxy.child.pid },
      { name: 'redirect', url: redirect.url, pid: redirect.child.pid },
    ];
    /** @type {Record<string, any[]>} */
    const runs = { proxy: [], redirect: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const t of targets) {
        await closedLoop(ctx, { url: `${t.url}/work?ms=0`, connections, seconds: warmup, label: `redir-warmup-${t.name}` });
        const before = await redis.commandstats();
        const cpu0 = snapshot();
        const r = await closedLoop(ctx, { url: `${t.url}/work?ms=0`, connections, seconds, label: `redir-${t.name}` });
        const cpu1 = snapshot();
        const cpu = { gatewayMsPerRequest: (cpuSeconds(cpu0, cpu1, [t.pid]) * 1000) / r.requests, redisMsPerRequest: (cpuSeconds(cpu0, cpu1, [redis.child.pid]) * 1000) / r.requests, ...machineShare(cpu0, cpu1) };
        const after = await redis.commandstats();
        const delta = commandDelta(before, after);
        const commands = delta.total;
        const { raw, ...rest } = r;
        const byCommandPerRequest = Object.fromEntries(Object.entries(delta.byCommand).map(([k, v]) => [k, v / r.requests]));
        runs[t.name].push({ round, ...rest, redisCommandsPerRequest: commands / r.requests, byCommandPerRequest, cpu });
        log(`  round ${round} ${t.name.padEnd(9)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  redis cmds/req ${(commands / r.requests).toFixed(2)}  CPU/request: gateway ${cpu.gatewayMsPerRequest.toFixed(3)} ms + redis ${cpu.redisMsPerRequest.toFixed(3)} ms; other processes ${cpu.foreignCores.toFixed(2)} cores`);
      }
    }
    /** @type {Record<string, any>} */
    const summary = {};
    for (const t of targets) {
      const rs = runs[t.name];
      summary[t.name] = {
        rps: median(rs.map((x) => x.rps)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        errors: rs.reduce((s, x) => s + x.errors, 0),
        redisCommandsPerRequest: median(rs.map((x) => x.redisCommandsPerRequest)),
        gatewayCpuMsPerRequest: median(rs.map((x) => x.cpu.gatewayMsPerRequest)),
        redisCpuMsPerRequest: median(rs.map((x) => x.cpu.redisMsPerRequest)),
        foreignCores: Math.max(...rs.map((x) => x.cpu.foreignCores)),
      };
    }
    const ratio = summary.redirect.rps / summary.proxy.rps;
    log(`  redirect / proxy = ${ratio.toFixed(2)} (goal >= 2)`);
    return { scenario: 'redirect', settings: { path: '/work?ms=0', connections, seconds, warmupSeconds: warmup, rounds, backends: backends.length, generator: ctx.tools.wrk ? `wrk -t1 -c${connections} -d${seconds}s --latency (does not follow redirects)` : 'node closed loop' }, runs, summary, ratio };
  });
}
