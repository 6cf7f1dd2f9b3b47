// A Redis Sentinel group on loopback for the faults scenario: one master, one replica and N
// sentinels (`redis-server <conf> --sentinel`, each with its own writable conf file under the run's
// conf dir, as Sentinel rewrites it). Apps reach it through REDIS_SENTINELS / REDIS_SENTINEL_NAME.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitUntil } from './net.mjs';
import { startChild } from './procs.mjs';
import { startRedis } from './stack.mjs';

/**
 * @typedef {object} SentinelSettings
 * @property {string} masterName       the name the sentinels monitor (REDIS_SENTINEL_NAME)
 * @property {number} quorum
 * @property {number} downAfterMs      down-after-milliseconds
 * @property {number} failoverTimeoutMs
 */

/** @type {SentinelSettings} */
export const SENTINEL_DEFAULTS = { masterName: 'mymaster', quorum: 2, downAfterMs: 1_000, failoverTimeoutMs: 5_000 };

/**
 * One INFO / SENTINEL call on a short-lived connection (no reconnect loop left behind).
 * @param {number} port
 * @param {string[]} args
 * @param {number} [timeoutMs]
 * @returns {Promise<any>}
 */
export async function redisCall(port, args, timeoutMs = 1_000) {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeoutMs, commandTimeout: timeoutMs, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const [cmd, ...rest] = args;
    return await c.call(cmd, ...rest);
  } finally {
    c.disconnect();
  }
}

/**
 * Starts master + replica (no persistence) and `count` sentinels, and waits until the replica is in
 * sync and every sentinel knows the replica and the other sentinels (so a failover can start at
 * once when the master dies).
 * @param {import('./stack.mjs').BenchContext} ctx
 * @param {{name: string, count?: number, settings?: Partial<SentinelSettings>}} o
 */
export async function startSentinelGroup(ctx, o) {
  const s = { ...SENTINEL_DEFAULTS, ...(o.settings ?? {}) };
  const count = o.count ?? 3;
  const dir = join(ctx.confs, o.name);
  mkdirSync(dir, { recursive: true });
  /** @type {{stop: () => Promise<void>}[]} */
  const started = [];
  try {
    const master = await startRedis(ctx, `${o.name}-master`);
    started.push(master);
    const replica = await startRedis(ctx, `${o.name}-replica`, { replicaOf: master.port });
    started.push(replica);
    await waitUntil(`${o.name}-replica in sync`, async () => /master_link_status:up/.test(await redisCall(replica.port, ['INFO', 'replication'])), 15_000, 100);
    /** @type {{port: number, child: import('./procs.mjs').Child, stop: () => Promise<void>}[]} */
    const sentinels = [];
    for (let i = 1; i <= count; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          '# written by tools/bench (rewritten by Sentinel while it runs)',
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize no',
          'logfile ""',
          `dir ${dir}`,
          `sentinel monitor ${s.masterName} 127.0.0.1 ${master.port} ${s.quorum}`,
          `sentinel down-after-milliseconds ${s.masterName} ${s.downAfterMs}`,
          `sentinel failover-timeout ${s.masterName} ${s.failoverTimeoutMs}`,
          `sentinel parallel-syncs ${s.masterName} 1`,
          '',
        ].join('\n'),
      );
      const child = startChild(`${o.name}-sentinel-${i}`, 'redis-server', [conf, '--sentinel'], { logFile: join(ctx.logs, `${o.name}-sentinel-${i}.log`) });
      const h = { port, child, stop: () => child.stop() };
      sentinels.push(h);
      started.push(h);
      await child.waitForOutput(/\+monitor master/, 10_000);
    }
    await waitUntil(
      'every sentinel to know the replica and the other sentinels',
      async () => {
        for (const x of sentinels) {
          const replicas = await redisCall(x.port, ['SENTINEL', 'replicas', s.masterName]);
          const peers = await redisCall(x.port, ['SENTINEL', 'sentinels', s.masterName]);
          if (replicas.length < 1 || peers.length < count - 1) return false;
        }
        return true;
      },
      30_000,
      250,
    );
    return {
      settings: s,
      master,
      replica,
      sentinels,
      /** What the apps get: REDIS_SENTINELS and REDIS_SENTINEL_NAME. */
      env: { REDIS_SENTINELS: sentinels.map((x) => `127.0.0.1:${x.port}`).join(','), REDIS_SENTINEL_NAME: s.masterName },
      /** The master's port as the first sentinel that answers sees it. */
      async masterPort() {
        for (const x of sentinels) {
          try {
            const addr = await redisCall(x.port, ['SENTINEL', 'get-master-addr-by-name', s.masterName]);
            if (Array.isArray(addr)) return Number(addr[1]);
          } catch {
            /* try the next one */
          }
        }
        return null;
      },
      /** Every process of the group, sentinels first. */
      async stop() {
        for (const x of [...started].reverse()) await x.stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const x of started.reverse()) await x.stop().catch(() => undefined);
    throw err;
  }
}
