import type { BackendRecord } from '../core/types';
import type { BalancerStore } from './load-store';

export interface ContractStoreFactory {
  /** A fresh, empty store; `random` decides ties. Closed by the suite. */
  (options: { random?: () => number }): Promise<BalancerStore>;
}

const TTL = 60_000;

export function backend(id: string, overrides: Partial<BackendRecord> = {}): BackendRecord {
  return {
    id,
    pool: 'p1',
    url: `http://127.0.0.1:9/${id}`,
    publicUrl: `http://public.example/${id}`,
    weight: 1,
    state: 'active',
    registeredAt: 0,
    metadata: {},
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One behaviour, two adapters: memory-balancer-store.spec.ts and redis-balancer-store.int-spec.ts
 * both run this suite, so the embedded default and the shared view cannot drift apart.
 */
export function describeLoadStoreContract(name: string, makeStore: ContractStoreFactory): void {
  describe(`${name} store contract`, () => {
    const opened: BalancerStore[] = [];
    const open = async (random?: () => number) => {
      const store = await makeStore({ random });
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    const register = async (store: BalancerStore, ...records: BackendRecord[]) => {
      for (const r of records) await store.register(r, TTL);
    };
    const reserveMany = async (store: BalancerStore, n: number, holder = 'gw-1') => {
      const leases = [];
      for (let i = 0; i < n; i++) leases.push(await store.reserve('p1', holder));
      return leases;
    };
    const activeById = async (store: BalancerStore) =>
      Object.fromEntries((await store.list('p1')).map((v) => [v.id, v.active]));

    it('has nothing to pick from an unknown or empty pool', async () => {
      const store = await open();
      expect(await store.reserve('nope', 'gw-1')).toBeUndefined();
      await register(store, backend('a'));
      await store.remove('p1', 'a');
      expect(await store.reserve('p1', 'gw-1')).toBeUndefined();
    });

    it('picks the backend with the fewest active connections and counts one more on it', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      await store.report('p1', 'a', 3);
      const lease = await store.reserve('p1', 'gw-1');
      expect(lease).toMatchObject({ pool: 'p1', backendId: 'b', url: 'http://127.0.0.1:9/b', holder: 'gw-1' });
      expect(await activeById(store)).toEqual({ a: 3, b: 1 });
    });

    it.each([
      [0, 'a'],
      [0.5, 'b'],
      [0.99, 'c'],
    ])('breaks a tie with the random draw %p -> %p', async (draw, expected) => {
      const store = await open(() => draw);
      await register(store, backend('a'), backend('b'), backend('c'));
      expect((await store.reserve('p1', 'gw-1'))?.backendId).toBe(expected);
    });

    it('spreads consecutive picks evenly (least connections, not first-listed)', async () => {
      const store = await open();
      await register(store, backend('a'), backend('b'), backend('c'));
      await reserveMany(store, 30);
      expect(await activeById(store)).toEqual({ a: 10, b: 10, c: 10 });
    });

    it('honours weights: load is active / weight', async () => {
      const store = await open();
      await register(store, backend('a', { weight: 2 }), backend('b'), backend('c', { weight: 0.5 }));
      await reserveMany(store, 14);
      expect(await activeById(store)).toEqual({ a: 8, b: 4, c: 2 });
    });

    it('never picks a draining backend, lets its slots be released, and picks it again once active', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      const first = await store.reserve('p1', 'gw-1');
      expect(first?.backendId).toBe('a');
      await store.setState('p1', 'a', 'draining');
      await reserveMany(store, 4);
      expect(await activeById(store)).toEqual({ a: 1, b: 4 });
      await store.release(first!);
      expect(await activeById(store)).toEqual({ a: 0, b: 4 });
      expect((await store.get('p1', 'a'))?.state).toBe('draining');
      await store.setState('p1', 'a', 'active');
      await reserveMany(store, 4);
      expect(await activeById(store)).toEqual({ a: 4, b: 4 });
    });

    it('picks no backend the health checks found down, even when activated, until it is up again', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      await store.register(backend('c'), TTL, { health: 'down' });
      await reserveMany(store, 4);
      expect(await activeById(store)).toEqual({ a: 2, b: 2, c: 0 });
      expect((await store.get('p1', 'c'))?.health).toBe('down');
      expect(await store.setHealth('p1', 'a', 'down')).toBe(true);
      await store.setState('p1', 'a', 'draining');
      await store.setState('p1', 'a', 'active'); // activating does not override the health checks
      await reserveMany(store, 2);
      expect(await activeById(store)).toEqual({ a: 2, b: 4, c: 0 });
      await store.setHealth('p1', 'c', 'up');
      await reserveMany(store, 2);
      expect(await activeById(store)).toEqual({ a: 2, b: 4, c: 2 });
      expect(await store.setHealth('p1', 'ghost', 'up')).toBe(false);
      await store.setState('p1', 'c', 'draining');
      await store.setHealth('p1', 'c', 'up'); // healthy but draining: still not picked
      await reserveMany(store, 1);
      expect((await activeById(store)).c).toBe(2);
    });

    it('skips excluded backends', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      expect((await store.reserve('p1', 'gw-1', { exclude: ['a'] }))?.backendId).toBe('b');
      expect(await store.reserve('p1', 'gw-1', { exclude: ['a', 'b'] })).toBeUndefined();
    });

    it('compares the larger of the gateways\u2019 count and the backend\u2019s own report', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      await reserveMany(store, 4); // a: 2, b: 2
      await store.report('p1', 'a', 7); // traffic no gateway saw: the higher report wins
      await store.report('p1', 'b', 0); // a stale, lower report must not hide in-flight requests
      expect(await activeById(store)).toEqual({ a: 7, b: 2 });
      await reserveMany(store, 5);
      expect(await activeById(store)).toEqual({ a: 7, b: 7 });
      expect(await store.report('p1', 'ghost', 1)).toBe(false);
    });

    it('brings every count back to zero when every lease is released', async () => {
      const store = await open();
      await register(store, backend('a'), backend('b'), backend('c'), backend('d'));
      const leases = await Promise.all(Array.from({ length: 200 }, (_, i) => store.reserve('p1', `gw-${i % 3}`)));
      expect(await activeById(store)).toEqual({ a: 50, b: 50, c: 50, d: 50 });
      await Promise.all(leases.map((l) => store.release(l!)));
      const views = await store.list('p1');
      expect(views.map((v) => [v.id, v.inflight, v.active])).toEqual([
        ['a', 0, 0],
        ['b', 0, 0],
        ['c', 0, 0],
        ['d', 0, 0],
      ]);
      // A second release of the same slot finds nothing held and counts nothing off.
      await store.report('p1', 'a', 0);
      await store.release(leases[0]!);
      expect((await store.get('p1', leases[0]!.backendId))?.inflight).toBe(0);
    });

    it('keeps a backend\u2019s counts when it registers again, and moves it when its weight changes', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      await reserveMany(store, 4);
      await register(store, backend('a', { url: 'http://127.0.0.1:9/a2', weight: 3 }));
      const view = await store.get('p1', 'a');
      expect(view).toMatchObject({ url: 'http://127.0.0.1:9/a2', weight: 3, inflight: 2 });
      await reserveMany(store, 4);
      expect(await activeById(store)).toEqual({ a: 6, b: 2 }); // 2/3 vs 2/1: a takes picks until 6/3
    });

    it('keeps picking a lapsed backend until it is evicted, which a beat since prevents', async () => {
      const store = await open();
      await store.register(backend('a'), 30);
      await store.register(backend('b'), 30);
      await store.register(backend('c'), TTL);
      await sleep(60);
      // A lapse is the registry's to judge (it knows whether it could record beats): picks go on.
      await reserveMany(store, 3);
      expect(await activeById(store)).toEqual({ a: 1, b: 1, c: 1 });
      const { lapsed, size } = await store.lapsed('p1');
      expect({ lapsed: lapsed.map((l) => l.id).sort(), size }).toEqual({ lapsed: ['a', 'b'], size: 3 });
      expect(lapsed.every((l) => l.deadline < Date.now())).toBe(true);
      await store.heartbeat('p1', 'b', TTL); // b beat after the registry looked: evicting it would be wrong
      expect(await store.evict('p1', ['a', 'b', 'c', 'ghost'])).toEqual(['a']);
      expect((await store.list('p1')).map((v) => v.id)).toEqual(['b', 'c']);
      expect(await store.heartbeat('p1', 'a', TTL)).toBeUndefined();
      expect(await store.heartbeat('p1', 'b', TTL, 9)).toBeGreaterThan(Date.now());
      expect((await store.get('p1', 'b'))?.reported).toBe(9);
    });

    it('extends the deadline of lapsed backends only', async () => {
      const store = await open();
      await store.register(backend('a'), 30);
      await store.register(backend('b'), TTL);
      await sleep(60);
      const before = (await store.get('p1', 'b'))?.livenessDeadline;
      expect(await store.extendLiveness('p1', ['a', 'b', 'ghost'], TTL)).toBe(1);
      expect((await store.lapsed('p1')).lapsed).toEqual([]);
      expect((await store.get('p1', 'a'))?.livenessDeadline).toBeGreaterThan(Date.now() + TTL / 2);
      expect((await store.get('p1', 'b'))?.livenessDeadline).toBe(before);
    });

    it('reaps the slots of a holder that stopped beating, and only those', async () => {
      const store = await open();
      await register(store, backend('a'), backend('b'));
      await store.beatHolder('p1', 'gw-dead', 30);
      await store.beatHolder('p1', 'gw-live', TTL);
      const deadLeases = await reserveMany(store, 4, 'gw-dead');
      await reserveMany(store, 2, 'gw-live');
      await sleep(60);
      expect(await store.sweep('p1')).toEqual({ reapedHolders: ['gw-dead'], expiredPending: 0 });
      expect(await activeById(store)).toEqual({ a: 1, b: 1 });
      await store.release(deadLeases[0]!); // the crashed gateway's late release changes nothing
      expect(await activeById(store)).toEqual({ a: 1, b: 1 });
    });

    it('says whether a holder beat before, so one whose table was lost knows to reconcile', async () => {
      const store = await open();
      expect(await store.beatHolder('p1', 'gw-1', TTL)).toBe(false);
      expect(await store.beatHolder('p1', 'gw-1', TTL)).toBe(true);
    });

    it('reconciles a holder\u2019s lease table: replaces it, and moves only that holder\u2019s share of each count', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'), backend('c'));
      await reserveMany(store, 6, 'gw-1'); // a: 2, b: 2, c: 2
      await reserveMany(store, 3, 'gw-2'); // a: 3, b: 3, c: 3
      // gw-1 holds fewer than the store thinks (a lost release), and one slot the store never saw.
      await store.reconcile('p1', 'gw-1', new Map([['a', 1], ['c', 3]]), TTL);
      expect(await activeById(store)).toEqual({ a: 2, b: 1, c: 4 });
      // Replace, never add: the same table again changes nothing.
      await store.reconcile('p1', 'gw-1', new Map([['a', 1], ['c', 3]]), TTL);
      expect(await activeById(store)).toEqual({ a: 2, b: 1, c: 4 });
      // Releases after a reconcile count off what the new table holds, and no more.
      const lease = { pool: 'p1', backendId: 'a', url: '', publicUrl: '', holder: 'gw-1' };
      await store.release(lease);
      await store.release(lease);
      expect(await activeById(store)).toEqual({ a: 1, b: 1, c: 4 });
      await store.reconcile('p1', 'gw-1', new Map(), TTL);
      expect(await activeById(store)).toEqual({ a: 1, b: 1, c: 1 });
      expect(await store.beatHolder('p1', 'gw-1', TTL)).toBe(true); // a reconcile beats too
    });

    it('lists the gateways that announced themselves, until their announcement lapses', async () => {
      const store = await open();
      const info = (id: string) => ({ id, adminUrl: `http://127.0.0.1:9/${id}`, pools: ['p1'], startedAt: 1 });
      await store.announceGateway(info('gw-b'), TTL);
      await store.announceGateway(info('gw-a'), 30);
      expect((await store.gateways()).map((g) => g.id)).toEqual(['gw-a', 'gw-b']);
      await sleep(60);
      expect(await store.gateways()).toEqual([info('gw-b')]);
    });

    it('tells subscribers about membership changes', async () => {
      const store = await open();
      const seen: string[] = [];
      const unsubscribe = await store.subscribe((e) => seen.push(`${e.type}:${e.pool}:${e.id}`));
      await store.publish({ type: 'registered', pool: 'p1', id: 'a' });
      await store.publish({ type: 'evicted', pool: 'p2', id: 'b' });
      for (let i = 0; i < 50 && seen.length < 2; i++) await sleep(10);
      expect(seen).toEqual(['registered:p1:a', 'evicted:p2:b']);
      await unsubscribe();
    });

    it('power-of-two never picks the busier of the two it draws', async () => {
      const store = await open();
      await register(store, backend('a'), backend('b'));
      await store.report('p1', 'a', 5);
      for (let i = 0; i < 5; i++) await store.reserve('p1', 'gw-1', { policy: 'power-of-two' });
      expect(await activeById(store)).toEqual({ a: 5, b: 5 });
    });

    it('round-robin takes backends in turn, ignoring load', async () => {
      const store = await open();
      await register(store, backend('b'), backend('a'), backend('c'));
      await store.report('p1', 'a', 10);
      const picks = [];
      for (let i = 0; i < 6; i++) picks.push((await store.reserve('p1', 'gw-1', { policy: 'round-robin' }))?.backendId);
      expect([...picks].sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
      expect(picks.slice(0, 3).sort()).toEqual(['a', 'b', 'c']);
    });

    it.each([
      [0, 20, 20],
      [60_000, 1, 4],
    ])('slow start %p ms: a newcomer to three busy backends takes %p-%p of the next 20 picks', async (slowStartMs, min, max) => {
      const store = await open();
      await register(store, backend('a'), backend('b'), backend('c'));
      for (const id of ['a', 'b', 'c']) await store.report('p1', id, 20);
      await store.register(backend('d'), TTL, { slowStartMs });
      await reserveMany(store, 20);
      const d = (await activeById(store)).d;
      expect(d).toBeGreaterThanOrEqual(min);
      expect(d).toBeLessThanOrEqual(max);
    });

    it('hands a pending (redirect) reservation to the backend that claims it, exactly once', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      const lease = await store.reserve('p1', 'gw-1', { pending: { tokenId: 't1', ttlMs: TTL } });
      expect(lease).toMatchObject({ backendId: 'a', pendingToken: 't1' });
      expect((await store.get('p1', 'a'))?.active).toBe(1);
      expect(await store.claim('p1', 'b', 't1', 1)).toBe(false); // issued for another backend
      expect(await store.claim('p1', 'a', 't1', 1)).toBe(true);
      expect(await store.get('p1', 'a')).toMatchObject({ inflight: 0, pending: 0, reported: 1, active: 1 });
      expect(await store.claim('p1', 'a', 't1', 1)).toBe(false); // a replay
      await store.release(lease!); // nothing left to cancel
      expect((await store.get('p1', 'a'))?.active).toBe(1);
    });

    it('adds pending reservations to what the backend reports: they are clients it has not seen yet', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'), backend('b'));
      await store.report('p1', 'a', 3);
      await store.reserve('p1', 'gw-1', { pending: { tokenId: 'p1', ttlMs: TTL } }); // b
      await store.reserve('p1', 'gw-1', { pending: { tokenId: 'p2', ttlMs: TTL } }); // b
      await store.report('p1', 'b', 2); // two other clients arrived at b
      expect(await store.get('p1', 'b')).toMatchObject({ reported: 2, pending: 2, active: 4 });
      expect((await store.reserve('p1', 'gw-1'))?.backendId).toBe('a');
    });

    it('lets a pending reservation whose client never comes lapse, or be cancelled', async () => {
      const store = await open(() => 0);
      await register(store, backend('a'));
      await store.reserve('p1', 'gw-1', { pending: { tokenId: 'never', ttlMs: 30 } });
      const cancelled = await store.reserve('p1', 'gw-1', { pending: { tokenId: 'cancel', ttlMs: TTL } });
      expect((await store.get('p1', 'a'))?.pending).toBe(2);
      await store.release(cancelled!);
      await sleep(60);
      expect((await store.sweep('p1')).expiredPending).toBe(1);
      expect((await store.get('p1', 'a'))?.active).toBe(0);
      expect(await store.claim('p1', 'a', 'never', 1)).toBe(false);
    });

    it('knows which pool an id lives in and lists pools', async () => {
      const store = await open();
      await register(store, backend('a'), backend('x', { pool: 'p2' }));
      expect(await store.poolOf('x')).toBe('p2');
      expect(await store.poolOf('nope')).toBeUndefined();
      expect(await store.pools()).toEqual(['p1', 'p2']);
      expect(await store.remove('p2', 'x')).toBe(true);
      expect(await store.remove('p2', 'x')).toBe(false);
      expect(await store.poolOf('x')).toBeUndefined();
    });

    it('moves an id that registers in another pool, and knows declared pools before any backend joins', async () => {
      const store = await open();
      await register(store, backend('a'));
      await store.register(backend('a', { pool: 'p2' }), TTL);
      expect(await store.poolOf('a')).toBe('p2');
      expect(await store.list('p1')).toEqual([]);
      expect(await store.reserve('p1', 'gw-1')).toBeUndefined();
      await store.declarePools(['empty']);
      expect(await store.pools()).toEqual(['empty', 'p1', 'p2']);
    });

    it('counts a pool\u2019s backends: a re-registration is not a new one, a move or a removal leaves', async () => {
      const store = await open();
      expect(await store.size('p1')).toBe(0);
      await register(store, backend('a'), backend('b'), backend('c'), backend('a', { weight: 2 }));
      expect(await store.size('p1')).toBe(3);
      await store.register(backend('b', { pool: 'p2' }), TTL);
      await store.remove('p1', 'c');
      await store.setState('p1', 'a', 'draining');
      expect([await store.size('p1'), await store.size('p2'), await store.size('nope')]).toEqual([1, 1, 0]);
    });
  });
}
