import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { backend, describeLoadStoreContract } from '../load-store.contract';
import { startRedis, type RedisServerHandle } from '../../testing/start-redis';
import { testRedisUrl } from '../../testing/test-redis';
import type { Lease } from '../../core/types';
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

  const opened: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });
  const prefixes = new Map<RedisBalancerStore, string>();
  const open = (random?: () => number) => {
    const keyPrefix = `t-${randomUUID()}`;
    const store = RedisBalancerStore.connect(server.url, { keyPrefix, random });
    opened.push(store);
    prefixes.set(store, keyPrefix);
    return store;
  };
  const keysOf = (store: RedisBalancerStore, pool = 'p1') => poolKeys(prefixes.get(store)!, pool);
  const inTurn = (store: RedisBalancerStore, n: number, pool = 'p1') => Promise.all(Array.from({ length: n }, () => store.reserve(pool, 'gw-1')));

  it('a lone proxied request (no pick follows its release) costs 9 Redis commands (5 for the pick, 4 for the release) and a batch of releases of one backend costs 4', async () => {
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
      // Reserves of one turn share one call: 10 on one backend cost what one does.
      const picks = await measure(async () => (leases = await Promise.all(Array.from({ length: 10 }, () => store.reserve('p2', 'gw-1')))));
      expect(picks).toEqual({ evalsha: 1, zrange: 1, hgetall: 1, hincrby: 1, zadd: 1 });
      expect(leases.every((l) => l?.backendId === 'solo')).toBe(true);
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

  describe('reserves of one event-loop turn', () => {
    const countBy = (leases: (Lease | undefined)[]) => {
      const counts: Record<string, number> = {};
      for (const l of leases) counts[l?.backendId ?? '-'] = (counts[l?.backendId ?? '-'] ?? 0) + 1;
      return counts;
    };

    it('spreads 10 reserves over 3 equal backends (4/3/3) in one call of EVALSHA + ZRANGE + 3 per backend', async () => {
      const store = open();
      for (const id of ['a', 'b', 'c']) await store.register(backend(id), TTL);
      await Promise.all((await inTurn(store, 3)).map((l) => store.release(l!))); // records cached, script loaded
      let leases: (Lease | undefined)[] = [];
      const cost = await measure(async () => (leases = await inTurn(store, 10)));
      expect(cost).toEqual({ evalsha: 1, zrange: 1, hgetall: 3, hincrby: 3, zadd: 3 });
      expect(Object.values(countBy(leases)).sort()).toEqual([3, 3, 4]);
      expect((await store.list('p1')).map((v) => v.inflight).sort()).toEqual([3, 3, 4]);
      expect(leases[0]).toMatchObject({ pool: 'p1', holder: 'gw-1', url: `http://127.0.0.1:9/${leases[0]!.backendId}` });
    });

    it('a single reserve in a turn still costs 5 commands', async () => {
      const store = open();
      for (const id of ['a', 'b', 'c']) await store.register(backend(id), TTL);
      await Promise.all((await inTurn(store, 3)).map((l) => store.release(l!)));
      await store.release((await store.reserve('p1', 'gw-1'))!); // this client's first reserve is an EVAL
      expect(await measure(() => store.reserve('p1', 'gw-1'))).toEqual({ evalsha: 1, zrange: 1, hincrby: 1, hgetall: 1, zadd: 1 });
    });

    it('reads more of the head of load when a batch outgrows one window, and spreads as sequential reserves do', async () => {
      const batched = open();
      const sequential = open();
      // 40 backends at 4 levels (reported 0..3, so a window of the head holds 32 of them): 120
      // reserves bring every one to a load of 3 or 4. A batch that never read past its first
      // window would leave the last 8 at 3 and push others to 5.
      for (const store of [batched, sequential]) {
        for (let i = 0; i < 40; i++) {
          const id = `b${String(i).padStart(2, '0')}`;
          await store.register(backend(id), TTL);
          await store.report('p1', id, i % 4);
        }
      }
      const cost = await measure(() => inTurn(batched, 120));
      for (let i = 0; i < 120; i++) await sequential.reserve('p1', 'gw-1');
      expect(cost.zrange).toBeGreaterThan(1);
      expect((cost.eval ?? 0) + (cost.evalsha ?? 0)).toBe(1); // this client's first call of the script is an EVAL
      for (const store of [batched, sequential]) {
        const views = await store.list('p1');
        expect(views.reduce((sum, v) => sum + v.inflight, 0)).toBe(120);
        expect(views.filter((v) => v.active < 3 || v.active > 4)).toEqual([]);
      }
    });

    it('never gives a reserve with exclusions a backend it excludes, in a turn with plain ones', async () => {
      for (let round = 0; round < 5; round++) {
        const store = open();
        for (const id of ['a', 'b', 'c']) await store.register(backend(id), TTL);
        await store.report('p1', 'b', 5); // a and c look best, but c is excluded
        const [excluding, ...plain] = await Promise.all([
          store.reserve('p1', 'gw-1', { exclude: ['a', 'c'] }),
          store.reserve('p1', 'gw-1'),
          store.reserve('p1', 'gw-1', { exclude: ['a'] }),
          ...Array.from({ length: 6 }, () => store.reserve('p1', 'gw-1')),
        ]);
        expect(excluding?.backendId).toBe('b');
        expect(plain[1]?.backendId).not.toBe('a');
        expect((await store.list('p1')).reduce((sum, v) => sum + v.inflight, 0)).toBe(9);
      }
    });

    it('honours weights inside a batch: a weight-2 backend takes twice the slots of a weight-1 one', async () => {
      const store = open();
      await store.register(backend('a', { weight: 2 }), TTL);
      await store.register(backend('b'), TTL);
      await store.register(backend('c'), TTL);
      const counts = countBy(await inTurn(store, 30));
      // 28 slots bring all three to a load of 7; the last two go to two different ones.
      expect(counts.a).toBeGreaterThanOrEqual(14);
      expect(counts.a).toBeLessThanOrEqual(15);
      for (const id of ['b', 'c']) expect([7, 8]).toContain(counts[id]);
      expect(counts.a + counts.b + counts.c).toBe(30);
    });

    it('honours slow start inside a batch, and ends a ramp that is over', async () => {
      const store = open();
      const k = keysOf(store);
      for (const id of ['a', 'b', 'c']) {
        await store.register(backend(id), TTL);
        await store.report('p1', id, 20);
      }
      await store.register(backend('d'), TTL, { slowStartMs: 60_000 });
      await store.register(backend('e', { pool: 'p2' }), TTL, { slowStartMs: 20 });
      await store.register(backend('f', { pool: 'p2' }), TTL);
      await store.report('p2', 'f', 3);
      await sleep(50);
      // d: 0, then 1 and 2 slots at a tenth of its weight (10, 20): 2 or 3 of 20, as sequential picks give.
      const [p1, p2] = await Promise.all([inTurn(store, 20), inTurn(store, 6, 'p2')]);
      expect(countBy(p1).d).toBeGreaterThanOrEqual(2);
      expect(countBy(p1).d).toBeLessThanOrEqual(3);
      expect(await stats.hexists(k.backend('d'), 's')).toBe(1);
      // e's ramp is over: full weight (e takes 3, then ties with f, which reported 3), and the ramp ends.
      expect(countBy(p2).e).toBeGreaterThanOrEqual(3);
      expect(countBy(p2).e).toBeLessThanOrEqual(4);
      const p2Keys = keysOf(store, 'p2');
      expect(await stats.hexists(p2Keys.backend('e'), 's')).toBe(0);
      expect(await stats.smembers(p2Keys.warming)).toEqual([]);
      expect(await stats.smembers(k.warming)).toEqual(['d']);
    });

    it('gives a slot whose backend\u2019s record is gone back, and picks that one once more on its own', async () => {
      const draws = [0, 0, 0.99, 0.99];
      const store = open(() => draws.shift() ?? 0);
      const k = keysOf(store);
      await store.register(backend('a'), TTL);
      await store.register(backend('b'), TTL);
      await stats.hdel(k.backends, 'a'); // as if removed between the pick and the read of the record
      // Batch: a (draw 0), then b. a's record is gone: its slot goes back and that reserve picks
      // alone once more: a (0 slots) again, gone again, so it gets nothing.
      const [first, second] = await inTurn(store, 2);
      expect(first).toBeUndefined();
      expect(second?.backendId).toBe('b');
      expect(await stats.hget(k.backend('a'), 'h:gw-1')).toBeNull();
      expect(await stats.hget(k.backend('b'), 'h:gw-1')).toBe('1');
    });

    it('rejects every reserve of a batch when its call fails, and those still waiting when the store closes', async () => {
      const store = open();
      await store.register(backend('a'), TTL);
      const k = keysOf(store);
      await stats.set(k.load, 'not a sorted set');
      const failed = await Promise.allSettled(Array.from({ length: 3 }, () => store.reserve('p1', 'gw-1')));
      expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      await stats.del(k.load);
      const closing = Promise.allSettled(Array.from({ length: 3 }, () => store.reserve('p1', 'gw-1')));
      await store.close();
      expect((await closing).map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'fulfilled'))).toEqual([
        'LB_STORE_UNAVAILABLE',
        'LB_STORE_UNAVAILABLE',
        'LB_STORE_UNAVAILABLE',
      ]);
    });
  });

  describe('releases ride on the next pick of the same pool and holder', () => {
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    /** Loads every script this client uses, so that each call after it is one EVALSHA. */
    const warmUp = async (store: RedisBalancerStore, pool = 'p1') => {
      const leases = await inTurn(store, 2, pool); // reserveMany
      await Promise.all(leases.map((l) => store.release(l!))); // release, on its own
      const lease = await store.reserve(pool, 'gw-1'); // reserve
      void store.release(lease!);
      await nextTurn();
      await store.release((await store.reserve(pool, 'gw-1'))!); // reserveMany carrying a release
    };
    const holderCounts = async (store: RedisBalancerStore, ids: readonly string[], pool = 'p1') => {
      const k = keysOf(store, pool);
      return Promise.all(ids.map(async (id) => Number((await stats.hget(k.backend(id), 'h:gw-1')) ?? 0)));
    };

    it('a pick carries the release queued before it: reserve, release, reserve cost 5 + 4 commands', async () => {
      const store = open();
      await store.register(backend('solo'), TTL);
      await warmUp(store);
      let released: Promise<void> | undefined;
      let second: Lease | undefined;
      const cost = await measure(async () => {
        const first = await store.reserve('p1', 'gw-1');
        released = store.release(first!);
        await nextTurn();
        second = await store.reserve('p1', 'gw-1');
        await released;
      });
      // The second call: EVALSHA + ZRANGE + HGETALL + ZADD (the slot released and the slot taken cancel out: no write).
      expect(cost).toEqual({ evalsha: 2, zrange: 2, hincrby: 1, hgetall: 2, zadd: 2 });
      expect(total(cost)).toBeLessThanOrEqual(5 + 4);
      expect(second?.backendId).toBe('solo');
      expect(await holderCounts(store, ['solo'])).toEqual([1]);
      await store.release(second!);
      expect(await holderCounts(store, ['solo'])).toEqual([0]);
    });

    it('costs at most 8 commands per proxied request in a steady sequence over several backends', async () => {
      const store = open();
      for (const id of ['a', 'b', 'c']) await store.register(backend(id), TTL);
      await warmUp(store);
      const requests = 30;
      const cost = await measure(async () => {
        let released: Promise<void> = Promise.resolve();
        for (let i = 0; i < requests; i++) {
          const lease = await store.reserve('p1', 'gw-1');
          released = store.release(lease!); // the response ended; the next request comes a turn later
          await nextTurn();
        }
        await released; // the last one goes on its own
      });
      // Each call after the first carries the previous release: EVALSHA + ZRANGE + 3 per backend touched (at most 2).
      expect(cost.evalsha).toBe(requests + 1);
      expect(total(cost)).toBeLessThanOrEqual(5 + 8 * (requests - 1) + 4);
      expect(await holderCounts(store, ['a', 'b', 'c'])).toEqual([0, 0, 0]);
    });

    it('a release with no pick after it reaches Redis on its own', async () => {
      const store = open();
      await store.register(backend('a'), TTL);
      const lease = await store.reserve('p1', 'gw-1');
      const released = store.release(lease!);
      let count = 1;
      for (let tries = 0; tries < 200 && count !== 0; tries++) {
        await sleep(5);
        [count] = await holderCounts(store, ['a']);
      }
      expect(count).toBe(0);
      await expect(released).resolves.toBeUndefined();
      expect(Number(await stats.zscore(keysOf(store).load, 'a'))).toBe(0);
    });

    it('ends every count at exactly 0 after reserves and releases interleaved randomly across turns', async () => {
      let seed = 7;
      const draw = () => {
        // mulberry32: the same sequence on every run
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const store = open(draw);
      const ids = ['a', 'b', 'c'];
      for (const id of ids) await store.register(backend(id), TTL);
      const held: Lease[] = [];
      const picking: Promise<unknown>[] = [];
      const releases: Promise<void>[] = [];
      for (let reserved = 0; reserved < 200; ) {
        for (let n = Math.floor(draw() * 4); n > 0 && reserved < 200; n--, reserved++) {
          picking.push(store.reserve('p1', 'gw-1').then((lease) => held.push(lease!)));
        }
        for (let n = Math.floor(draw() * 4); n > 0 && held.length > 0; n--) {
          releases.push(store.release(held.splice(Math.floor(draw() * held.length), 1)[0]));
        }
        const gap = draw();
        await (gap < 0.4 ? Promise.all(picking) : gap < 0.8 ? nextTurn() : sleep(Math.floor(draw() * 4)));
      }
      await Promise.all(picking);
      while (held.length > 0) {
        releases.push(store.release(held.pop()!));
        if (draw() < 0.3) await nextTurn();
      }
      await Promise.all(releases);
      expect(await holderCounts(store, ids)).toEqual([0, 0, 0]);
      expect((await store.list('p1')).map((v) => v.inflight)).toEqual([0, 0, 0]);
      const load = keysOf(store).load;
      expect(await Promise.all(ids.map(async (id) => Number(await stats.zscore(load, id))))).toEqual([0, 0, 0]);
    });

    it('sends a queued release before reconcile() replaces the lease table, so it is not counted off twice', async () => {
      const store = open(() => 0);
      for (const id of ['a', 'b']) await store.register(backend(id), TTL);
      const leases = (await inTurn(store, 4)) as Lease[]; // a: 2, b: 2
      const first = leases.findIndex((l) => l.backendId === 'a');
      // As the gateway's lease book does: the release is counted off the local table at once, so
      // the snapshot reconcile writes no longer holds it; a plain reserve waits for the end of the turn.
      const released = store.release(leases[first]);
      const pending = store.reserve('p1', 'gw-1');
      await store.reconcile('p1', 'gw-1', new Map([['a', 1], ['b', 2]]), TTL);
      await released;
      const picked = await pending;
      const expected = { a: 1, b: 2 };
      expected[picked!.backendId as 'a' | 'b'] += 1;
      expect(await holderCounts(store, ['a', 'b'])).toEqual([expected.a, expected.b]);
      await Promise.all([...leases.filter((_, i) => i !== first), picked!].map((l) => store.release(l)));
      expect(await holderCounts(store, ['a', 'b'])).toEqual([0, 0]);
    });

    it('counts a drained backend\u2019s release off in a pick of another one and leaves it out of load', async () => {
      const store = open();
      for (const id of ['a', 'b']) await store.register(backend(id), TTL);
      await warmUp(store);
      await store.report('p1', 'b', 1);
      const lease = await store.reserve('p1', 'gw-1');
      expect(lease?.backendId).toBe('a');
      await store.setState('p1', 'a', 'draining');
      let released: Promise<void> | undefined;
      let next: Lease | undefined;
      const cost = await measure(async () => {
        released = store.release(lease!);
        await nextTurn();
        next = await store.reserve('p1', 'gw-1');
        await released;
      });
      expect(next?.backendId).toBe('b');
      expect(cost).toEqual({ evalsha: 1, zrange: 1, hgetall: 2, hdel: 1, hincrby: 1, zadd: 1 });
      expect(await holderCounts(store, ['a', 'b'])).toEqual([0, 1]);
      expect(await stats.zscore(keysOf(store).load, 'a')).toBeNull();
    });

    it('lets a release move a backend beyond the head of load to the front of the picks', async () => {
      const store = open();
      // 40 backends at 2; x holds 5 of this gateway's slots, so it is beyond the first window of 32.
      for (let i = 0; i < 39; i++) {
        const id = `b${String(i).padStart(2, '0')}`;
        await store.register(backend(id), TTL);
        await store.report('p1', id, 2);
      }
      await store.register(backend('x'), TTL);
      await store.reconcile('p1', 'gw-1', new Map([['x', 5]]), TTL);
      const leaseOnX: Lease = { pool: 'p1', backendId: 'x', url: '', publicUrl: '', holder: 'gw-1' };
      let next: Lease | undefined;
      const cost = await measure(async () => {
        const released = Promise.all(Array.from({ length: 4 }, () => store.release(leaseOnX))); // x: 1
        await nextTurn();
        next = await store.reserve('p1', 'gw-1');
        await released;
      });
      expect(next?.backendId).toBe('x');
      expect(cost.zmscore).toBe(1);
      expect(await holderCounts(store, ['x'])).toEqual([2]);
      expect(Number(await stats.zscore(keysOf(store).load, 'x'))).toBe(2);
    });

    it('rejects the releases a failed call carried, with the reserves of that call', async () => {
      const store = open();
      await store.register(backend('a'), TTL);
      const lease = await store.reserve('p1', 'gw-1');
      const k = keysOf(store);
      await stats.rename(k.load, `${k.load}:aside`);
      await stats.set(k.load, 'not a sorted set');
      const released = store.release(lease!);
      await nextTurn();
      const [reserve, release] = await Promise.allSettled([store.reserve('p1', 'gw-1'), released]);
      expect([reserve.status, release.status]).toEqual(['rejected', 'rejected']);
      expect((release as PromiseRejectedResult).reason).toBe((reserve as PromiseRejectedResult).reason);
      expect(await holderCounts(store, ['a'])).toEqual([1]); // nothing was counted off: the gateway reconciles
      await stats.rename(`${k.load}:aside`, k.load);
      await store.release(lease!);
      expect(await holderCounts(store, ['a'])).toEqual([0]);
    });
  });
});
