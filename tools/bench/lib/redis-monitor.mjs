// Counts what reaches Redis per proxied request, with MONITOR attached for a fixed number of
// requests: commands sent by clients (each a round trip or part of an auto-pipelined batch) apart
// from the commands that Lua scripts run inside Redis. MONITOR slows Redis down, so this runs
// after (never during) the timed runs.
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { sleep } from './net.mjs';

/**
 * @param {string} redisUrl
 * @param {string} targetUrl   a gateway origin
 * @param {{requests: number, concurrency: number, path: string, settleMs?: number}} o
 */
export async function monitorSample(redisUrl, targetUrl, o) {
  const redis = new Redis(redisUrl);
  const monitor = await redis.monitor();
  /** @type {Record<string, number>} */
  const client = {};
  /** @type {Record<string, number>} */
  const lua = {};
  let clientTotal = 0;
  let luaTotal = 0;
  monitor.on('monitor', (_time, args, source) => {
    const cmd = String(args[0]).toLowerCase();
    if (source === 'lua') {
      lua[cmd] = (lua[cmd] ?? 0) + 1;
      luaTotal++;
    } else {
      client[cmd] = (client[cmd] ?? 0) + 1;
      clientTotal++;
    }
  });
  await sleep(200);
  const base = { clientTotal, luaTotal };
  const pool = new Pool(targetUrl, { connections: o.concurrency });
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.requests) {
        next++;
        const r = await pool.request({ path: o.path, method: 'GET' });
        await r.body.dump();
        if (r.statusCode < 400) ok++;
      }
    }),
  );
  await sleep(o.settleMs ?? 1_000); // releases and the backends' reports land after the answers
  monitor.disconnect();
  redis.disconnect();
  await pool.destroy();
  const per = (/** @type {Record<string, number>} */ m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v / o.requests]).sort((a, b) => b[1] - a[1]));
  return {
    requests: o.requests,
    ok,
    sentPerRequest: (clientTotal - base.clientTotal) / o.requests,
    luaPerRequest: (luaTotal - base.luaTotal) / o.requests,
    sentByCommand: per(client),
    luaByCommand: per(lua),
    note: 'MONITOR sample of a fixed number of requests (includes the backends\' load reports, liveness beats and the gateway\'s lease beats during the sample)',
  };
}
