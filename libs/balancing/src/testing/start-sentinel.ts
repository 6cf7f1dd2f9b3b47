import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, spawnRedisProcess, startRedis, type RedisProcess, type RedisServerHandle } from './start-redis';

export interface StartSentinelGroupOptions {
  /** The name the sentinels monitor the master under (default `mymaster`). */
  readonly masterName?: string;
  /** requirepass + masterauth on master and replica, and `sentinel auth-pass` on the sentinels. */
  readonly password?: string;
  /** `sentinel down-after-milliseconds` (default 500). */
  readonly downAfterMs?: number;
  /** `sentinel failover-timeout` (default 2000). */
  readonly failoverTimeoutMs?: number;
  /** How long to wait for replication and sentinel discovery (default 30 s). */
  readonly readyTimeoutMs?: number;
  /** The redis-server binary; defaults to $REDIS_SERVER_BIN or `redis-server`. */
  readonly binary?: string;
}

export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

/** One sentinel process, for tests that take a sentinel down. */
export interface SentinelHandle extends SentinelAddress {
  readonly pid: number;
  readonly running: boolean;
  kill(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface SentinelGroup {
  readonly masterName: string;
  readonly password: string | undefined;
  /** Plain addresses, ready for ioredis's `sentinels` option. */
  readonly sentinels: readonly SentinelAddress[];
  /** The sentinel processes themselves, in the same order. */
  readonly sentinelHandles: readonly SentinelHandle[];
  /** The current master as last seen by the group (updated by waitForFailover). */
  master(): RedisServerHandle;
  /** The current replica (after a failover: the old master, even if it is down). */
  replica(): RedisServerHandle;
  /** SIGKILLs the current master's process; resolves when it has exited. */
  killMaster(): Promise<void>;
  /**
   * Resolves with the new master's port once every running sentinel reports a master address
   * other than the current one and that server answers ROLE as master; master()/replica() swap.
   */
  waitForFailover(timeoutMs?: number): Promise<number>;
  /**
   * Resolves once the current replica is online on the current master (INFO replication), e.g.
   * after `replica().restart()` of a killed old master: the sentinels turn it into a replica,
   * which took about 10 s here (they wait a few hello periods before reconfiguring it).
   */
  waitForReplicaInSync(timeoutMs?: number): Promise<void>;
  /** Stops the sentinels, then the replica, then the master (each by PID) and removes the temp dirs. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SENTINEL_COUNT = 3;
const QUORUM = 2;

/**
 * A master, one replica and three sentinels (quorum 2) on loopback ports, each with its own temp
 * dir. Resolves once the replica is in sync and every sentinel knows the master, the replica
 * and the two other sentinels, so that killing the master really leads to a failover.
 */
export async function startSentinelGroup(options: StartSentinelGroupOptions = {}): Promise<SentinelGroup> {
  const masterName = options.masterName ?? 'mymaster';
  const downAfterMs = options.downAfterMs ?? 500;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 2_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const { password, binary } = options;
  // Redis 7 waits repl-diskless-sync-delay (5 s) for more replicas before a full sync; no need here.
  const serverArgs = ['--repl-diskless-sync-delay', '0', ...(password === undefined ? [] : ['--masterauth', password])];

  const dirs: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  const servers: RedisServerHandle[] = [];
  const sentinelHandles: SentinelHandle[] = [];
  const stopAll = async () => {
    await Promise.all(sentinelHandles.map((s) => s.stop()));
    for (const server of [...servers].reverse()) await server.stop(); // replica first: the master has no one to wait for
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Each server gets a dir: a replica writes the RDB it receives from the master there.
    const master = await startRedis({ binary, password, dir: tempDir('lb-redis-master-'), args: serverArgs });
    servers.push(master);
    const replica = await startRedis({
      binary,
      password,
      dir: tempDir('lb-redis-replica-'),
      args: [...serverArgs, '--replicaof', HOST, String(master.port)],
    });
    servers.push(replica);
    await waitUntil(readyTimeoutMs, 'the replica to be in sync', () => replicaOnline(master, replica.port));

    for (let i = 0; i < SENTINEL_COUNT; i++) {
      sentinelHandles.push(
        await startSentinel({ binary, dir: tempDir('lb-sentinel-'), masterName, masterPort: master.port, password, downAfterMs, failoverTimeoutMs }),
      );
    }
    await waitUntil(readyTimeoutMs, 'every sentinel to see the master, the replica and the other sentinels', async () => {
      const views = await Promise.all(sentinelHandles.map((s) => sentinelKnowsAll(s, masterName, master.port, replica.port)));
      return views.every(Boolean);
    });

    let masterHandle = master;
    let replicaHandle = replica;
    const group: SentinelGroup = {
      masterName,
      password,
      sentinels: sentinelHandles.map(({ host, port }) => ({ host, port })),
      sentinelHandles,
      master: () => masterHandle,
      replica: () => replicaHandle,
      killMaster: () => masterHandle.kill(),
      async waitForFailover(timeoutMs = 30_000) {
        const oldPort = masterHandle.port;
        let newPort = -1;
        await waitUntil(timeoutMs, `a failover away from port ${oldPort}`, async () => {
          const running = sentinelHandles.filter((s) => s.running);
          const ports = await Promise.all(running.map((s) => masterPortSeenBy(s, masterName)));
          const [first] = ports;
          if (first === undefined || first === oldPort || ports.some((p) => p !== first)) return false;
          const promoted = servers.find((s) => s.port === first);
          if (!promoted || !(await isMaster(promoted))) return false;
          newPort = first;
          return true;
        });
        const promoted = servers.find((s) => s.port === newPort) as RedisServerHandle;
        replicaHandle = masterHandle;
        masterHandle = promoted;
        return newPort;
      },
      waitForReplicaInSync: (timeoutMs = 30_000) =>
        waitUntil(timeoutMs, `the replica on port ${replicaHandle.port} to be in sync`, () => replicaOnline(masterHandle, replicaHandle.port)),
      stop: stopAll,
    };
    return group;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface SentinelStart {
  readonly binary: string | undefined;
  readonly dir: string;
  readonly masterName: string;
  readonly masterPort: number;
  readonly password: string | undefined;
  readonly downAfterMs: number;
  readonly failoverTimeoutMs: number;
}

async function startSentinel(o: SentinelStart): Promise<SentinelHandle> {
  const binary = o.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // Sentinel rewrites this file (its id, the epochs, the replicas and sentinels it found).
    const conf = join(o.dir, 'sentinel.conf');
    const lines = [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${o.dir}`,
      `sentinel monitor ${o.masterName} ${HOST} ${o.masterPort} ${QUORUM}`,
      `sentinel down-after-milliseconds ${o.masterName} ${o.downAfterMs}`,
      `sentinel failover-timeout ${o.masterName} ${o.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${o.masterName} 1`,
      ...(o.password === undefined ? [] : [`sentinel auth-pass ${o.masterName} ${o.password}`]),
    ];
    writeFileSync(conf, `${lines.join('\n')}\n`);
    let proc: RedisProcess;
    try {
      proc = await spawnRedisProcess(binary, [conf, '--sentinel'], { readyLine: '+monitor master', cwd: o.dir });
    } catch (err) {
      if (attempt >= 3) throw err; // the port may have been taken between freePort() and the start
      continue;
    }
    return {
      host: HOST,
      port,
      pid: proc.pid,
      get running() {
        return !proc.exited;
      },
      kill: () => proc.kill(),
      pause: () => proc.pause(),
      resume: () => proc.resume(),
      stop: () => proc.terminate(),
    };
  }
}

/** A short-lived direct connection (not sentinel mode) that gives up fast instead of retrying. */
async function withClient<T>(
  target: { port: number; password?: string },
  use: (client: Redis) => Promise<T>,
): Promise<T | undefined> {
  const client = new Redis({
    host: HOST,
    port: target.port,
    password: target.password,
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await use(client);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function replicaOnline(master: RedisServerHandle, replicaPort: number): Promise<boolean> {
  const info = await withClient(master, (c) => c.info('replication'));
  return info !== undefined && new RegExp(`^slave\\d+:ip=[^,]+,port=${replicaPort},state=online`, 'm').test(info);
}

async function isMaster(server: RedisServerHandle): Promise<boolean> {
  const role = await withClient(server, (c) => c.call('ROLE') as Promise<unknown[]>);
  return Array.isArray(role) && role[0] === 'master';
}

async function masterPortSeenBy(sentinel: SentinelAddress, masterName: string): Promise<number | undefined> {
  const addr = await withClient(sentinel, (c) => c.call('SENTINEL', 'get-master-addr-by-name', masterName) as Promise<string[] | null>);
  return addr ? Number(addr[1]) : undefined;
}

async function sentinelKnowsAll(sentinel: SentinelAddress, masterName: string, masterPort: number, replicaPort: number): Promise<boolean> {
  const view = await withClient(sentinel, async (c) => {
    const master = toRecord((await c.call('SENTINEL', 'master', masterName)) as string[]);
    const replicas = ((await c.call('SENTINEL', 'replicas', masterName)) as string[][]).map(toRecord);
    const sentinels = ((await c.call('SENTINEL', 'sentinels', masterName)) as string[][]).map(toRecord);
    return { master, replicas, sentinels };
  });
  if (!view) return false;
  const healthy = (r: Record<string, string>) => !/s_down|o_down|disconnected/.test(r['flags'] ?? '');
  return (
    Number(view.master['port']) === masterPort &&
    healthy(view.master) &&
    view.replicas.some((r) => Number(r['port']) === replicaPort && healthy(r) && r['master-link-status'] === 'ok') &&
    view.sentinels.filter(healthy).length === SENTINEL_COUNT - 1
  );
}

function toRecord(flat: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i] as string] = flat[i + 1] as string;
  return record;
}

async function waitUntil(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
