import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { backend, describeLoadStoreContract } from '../load-store.contract';
import { startRedis, type RedisServerHandle } from '../../testing/start-redis';
import { testRedisUrl } from '../../testing/test-redis';
import { poolKeys } from './keys';
import { RedisBalancerStore } from './redis-balancer-store';

describeLoadStoreContract('redis', async ({ random }) =>
  RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: `t-${randomUUID()}`, random }),
);

const TTL = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('redis store after Redis lost its data', () => {
  it('counts slots a gateway reconciled for a backend that registers only afterwards', async () => {
    const store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: `t-${randomUUID()}` });
    try {
      const record = (id: string) => ({ id, pool: 'p1', url: `http://127.0.0.1:9/${id}`, publicUrl: '', weight: 1, state: 'active' as const, registeredAt: 0, metadata: {} });
      // The gateway writes what it holds before the agents have registered again.
      await store.reconcile('p1', 'gw-1', new Map([['a', 2]]), 60_000);
      await store.register(record('a'), 60_000);
      await store.register(record('b'), 60_000);
      expect((await store.list('p1')).map((v) => [v.id, v.active])).toEqual([
        ['a', 2],
        ['b', 0],
      ]);
      expect((await store.reserve('p1', 'gw-1'))?.backendId).toBe('b');
    } finally {
      await store.close();
    }
  });

  it('clears what a gateway reconciled for a backend not registered yet once it no longer holds it', async () => {
    const store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: `t-${randomUUID()}` });
    try {
      await store.reconcile('p1', 'gw-1', new Map([['a', 2]]), TTL);
      await store.reconcile('p1', 'gw-1', new Map(), TTL);
      await store.register(backend('a'), TTL);
      expect((await store.get('p1', 'a'))?.inflight).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('redis store: per-backend hashes and the record cache', () => {
  const opened: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });
  const open = (keyPrefix: string, random?: () => number) => {
    const store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix, random });
    opened.push(store);
    return store;
  };
  const raw = () => {
    const redis = new Redis(testRedisUrl());
    opened.push({ close: () => redis.quit() });
    return redis;
  };

  it('picks a backend whose record changed with its new record (another process wrote it)', async () => {
    const prefix = `t-${randomUUID()}`;
    const registry = open(prefix);
    const gateway = open(prefix);
    await registry.register(backend('a', { url: 'http://127.0.0.1:9/a1' }), TTL);
    const first = await gateway.reserve('p1', 'gw-1');
    expect(first?.url).toBe('http://127.0.0.1:9/a1');
    await gateway.release(first!);
    expect((await gateway.reserve('p1', 'gw-1'))?.url).toBe('http://127.0.0.1:9/a1'); // from the cache
    await registry.register(backend('a', { url: 'http://127.0.0.1:9/a2' }), TTL);
    expect((await gateway.reserve('p1', 'gw-1'))?.url).toBe('http://127.0.0.1:9/a2');
    // Removed and registered again: the hash is new, and so is the version.
    await registry.remove('p1', 'a');
    await registry.register(backend('a', { url: 'http://127.0.0.1:9/a3' }), TTL);
    expect((await gateway.reserve('p1', 'gw-1'))?.url).toBe('http://127.0.0.1:9/a3');
    await registry.setState('p1', 'a', 'draining');
    await registry.setState('p1', 'a', 'active');
    expect(await gateway.reserve('p1', 'gw-1')).toMatchObject({ url: 'http://127.0.0.1:9/a3', backendId: 'a' });
  });

  it('gives the slot back and picks once more when the picked backend\u2019s record is gone', async () => {
    const prefix = `t-${randomUUID()}`;
    const draws = [0, 0, 0, 0, 0, 0, 0.99, 0.99]; // two per pick (least-connections uses the first)
    const store = open(prefix, () => draws.shift() ?? 0);
    const k = poolKeys(prefix, 'p1');
    const redis = raw();
    await store.register(backend('a'), TTL);
    await store.register(backend('b'), TTL);
    // A record that vanished while its backend is still in `load` (what a removal between the
    // pick and the read of the record looks like to the gateway).
    await redis.hdel(k.backends, 'a');
    expect(await store.reserve('p1', 'gw-1')).toBeUndefined(); // a, then a again: gives up
    expect(await redis.hget(k.backend('a'), 'h:gw-1')).toBeNull();
    expect((await store.reserve('p1', 'gw-1'))?.backendId).toBe('b'); // a, then b
    expect(await redis.hget(k.backend('a'), 'h:gw-1')).toBeNull();
    expect(await redis.hget(k.backend('b'), 'h:gw-1')).toBe('1');
  });

  it('leaves no hash behind when a lease or a pending reservation ends after its backend was removed', async () => {
    const prefix = `t-${randomUUID()}`;
    const store = open(prefix);
    const k = poolKeys(prefix, 'p1');
    const redis = raw();
    await store.register(backend('a'), TTL);
    const lease = await store.reserve('p1', 'gw-1');
    const pending = await store.reserve('p1', 'gw-1', { pending: { tokenId: 't1', ttlMs: TTL } });
    await store.remove('p1', 'a');
    await store.release(lease!);
    await store.release(pending!);
    await store.report('p1', 'a', 3);
    expect(await redis.exists(k.backend('a'))).toBe(0);
  });

  it('ramps a backend in slow start up as it is rescored, and ends the ramp', async () => {
    const prefix = `t-${randomUUID()}`;
    const store = open(prefix);
    const k = poolKeys(prefix, 'p1');
    const redis = raw();
    await store.register(backend('d'), TTL, { slowStartMs: 1_000 });
    await store.report('p1', 'd', 1);
    const score = async () => Number(await redis.zscore(k.load, 'd'));
    expect(await score()).toBeGreaterThan(5); // 1 / factor, the factor starting at 0.1
    expect(await score()).toBeLessThanOrEqual(10);
    await sleep(600);
    await store.sweep('p1'); // nobody else touches an idle backend
    expect(await score()).toBeGreaterThan(1);
    expect(await score()).toBeLessThan(2); // 1 / ~0.6
    expect(await redis.smembers(k.warming)).toEqual(['d']);
    await sleep(500);
    await store.sweep('p1');
    expect(await score()).toBe(1);
    expect(await redis.smembers(k.warming)).toEqual([]);
    expect(await redis.hexists(k.backend('d'), 's')).toBe(0);
  });
});

describe('redis store: Redis commands per proxied request', () => {
  let server: RedisServerHandle;
  let stats: Redis;
  beforeAll(async () => {
    server = await startRedis(); // private: no other test's commands in its statistics
    stats = new Redis(server.url);
  });
  afterAll(async () => {
    await stats?.quit();
    await server?.stop();
  });

  /** Calls per command since the server started, from INFO commandstats (INFO itself left out). */
  const commandCalls = async (): Promise<Record<string, number>> => {
    const calls: Record<string, number> = {};
    for (const [, name, n] of (await stats.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (name !== 'info') calls[name] = Number(n);
    }
    return calls;
  };
  const measure = async (work: () => Promise<unknown>): Promise<Record<string, number>> => {
    const before = await commandCalls();
    await work();
    const after = await commandCalls();
    const delta: Record<string, number> = {};
    for (const [name, n] of Object.entries(after)) if (n - (before[name] ?? 0) > 0) delta[name] = n - (before[name] ?? 0);
    return delta;
  };
  const total = (delta: Record<string, number>) => Object.values(delta).reduce((a, b) => a + b, 0);

  it('a proxied request costs at most 9 Redis commands (5 for the pick, 4 for the release) and a batch of releases of one backend costs 4', async () => {
    const store = RedisBalancerStore.connect(server.url, { keyPrefix: `t-${randomUUID()}` });
    try {
      for (const id of ['a', 'b', 'c']) await store.register(backend(id), TTL);
      await store.register(backend('solo', { pool: 'p2' }), TTL);
      // Warm up: scripts loaded, every record read once (a pick reads a record only when it is new to it).
      const warm = await Promise.all([1, 2, 3].map(() => store.reserve('p1', 'gw-1')));
      await Promise.all(warm.map((l) => store.release(l!)));
      await store.release((await store.reserve('p2', 'gw-1'))!);

      let lease: Awaited<ReturnType<typeof store.reserve>>;
      const pick = await measure(async () => (lease = await store.reserve('p1', 'gw-1')));
      const release = await measure(() => store.release(lease!));
      expect(pick).toEqual({ evalsha: 1, zrange: 1, hincrby: 1, hgetall: 1, zadd: 1 });
      expect(release).toEqual({ evalsha: 1, hgetall: 1, hdel: 1, zadd: 1 });
      expect(total(pick) + total(release)).toBeLessThanOrEqual(9);

      let leases: Awaited<ReturnType<typeof store.reserve>>[] = [];
      const picks = await measure(async () => (leases = await Promise.all(Array.from({ length: 10 }, () => store.reserve('p2', 'gw-1')))));
      expect(total(picks)).toBe(50);
      const batch = await measure(() => Promise.all(leases.map((l) => store.release(l!))));
      expect(batch).toEqual({ evalsha: 1, hgetall: 1, hdel: 1, zadd: 1 });
      expect((await store.get('p2', 'solo'))?.inflight).toBe(0);

      // Half of them: the holder keeps slots, so the field is decremented rather than deleted.
      leases = await Promise.all(Array.from({ length: 4 }, () => store.reserve('p2', 'gw-1')));
      const half = await measure(() => Promise.all(leases.slice(0, 2).map((l) => store.release(l!))));
      expect(half).toEqual({ evalsha: 1, hgetall: 1, hincrby: 1, zadd: 1 });
      expect((await store.get('p2', 'solo'))?.inflight).toBe(2);
    } finally {
      await store.close();
    }
  });
});
