import type { BackendView, GatewayInfo, GatewayStatus } from '@lb/balancing';
import { buildSnapshot, fairShares, loadBar, recentShares } from './dashboard-snapshot';

type Shape = Pick<BackendView, 'id' | 'state' | 'health' | 'weight'>;
const b = (id: string, weight = 1, state: BackendView['state'] = 'active', health: BackendView['health'] = 'up'): Shape => ({ id, weight, state, health });

describe('fairShares: weight over the weight of the backends picks can choose', () => {
  it.each<[string, Shape[], Record<string, number>]>([
    ['equal weights', [b('a'), b('b'), b('c'), b('d')], { a: 0.25, b: 0.25, c: 0.25, d: 0.25 }],
    ['weights 1:3', [b('a', 1), b('b', 3)], { a: 0.25, b: 0.75 }],
    ['a draining backend gets none and leaves its part to the others', [b('a'), b('b', 1, 'draining'), b('c')], { a: 0.5, b: 0, c: 0.5 }],
    ['so does one that is down', [b('a', 2), b('b', 1, 'active', 'down'), b('c', 2)], { a: 0.5, b: 0, c: 0.5 }],
    ['nothing eligible: every share 0', [b('a', 1, 'draining'), b('b', 1, 'active', 'down')], { a: 0, b: 0 }],
    ['a slow-starting weight counts as it is now', [b('a', 0.1), b('b', 0.9)], { a: 0.1, b: 0.9 }],
    ['empty pool', [], {}],
  ])('%s', (_, views, expected) => {
    const shares = Object.fromEntries(fairShares(views));
    expect(Object.keys(shares)).toEqual(Object.keys(expected));
    for (const [id, share] of Object.entries(expected)) expect(shares[id]).toBeCloseTo(share, 10);
  });
});

describe('recentShares: part of what the pool served in the window', () => {
  it.each<[string, string[], Record<string, number>, Record<string, number | null>]>([
    ['even', ['a', 'b'], { a: 5, b: 5 }, { a: 0.5, b: 0.5 }],
    ['uneven', ['a', 'b', 'c'], { a: 6, b: 3, c: 1 }, { a: 0.6, b: 0.3, c: 0.1 }],
    ['a backend that served nothing', ['a', 'b'], { a: 4 }, { a: 1, b: 0 }],
    ['nothing served: unknown, not zero', ['a', 'b'], {}, { a: null, b: null }],
    ['a backend that left is not part of the pool', ['a'], { a: 2, gone: 2 }, { a: 1 }],
  ])('%s', (_, ids, served, expected) => {
    expect(Object.fromEntries(recentShares(ids, served))).toEqual(expected);
  });
});

describe('loadBar: the segments add up to the load a pick compares', () => {
  it.each([
    // inflight, reported, pending -> slots, reportedExtra, pending
    [3, 0, 0, { slots: 3, reportedExtra: 0, pending: 0 }],
    [3, 5, 0, { slots: 3, reportedExtra: 2, pending: 0 }],
    [5, 3, 0, { slots: 5, reportedExtra: 0, pending: 0 }],
    [0, 4, 2, { slots: 0, reportedExtra: 4, pending: 2 }],
    [2, 2, 1, { slots: 2, reportedExtra: 0, pending: 1 }],
  ])('slots %p, reported %p, pending %p', (inflight, reported, pending, bar) => {
    expect(loadBar({ inflight, reported, pending })).toEqual(bar);
    expect(bar.slots + bar.reportedExtra + bar.pending).toBe(Math.max(inflight, reported) + pending);
  });
});

describe('buildSnapshot', () => {
  const view = (id: string, over: Partial<BackendView> = {}): BackendView => {
    const inflight = over.inflight ?? 0;
    const reported = over.reported ?? 0;
    const pending = over.pending ?? 0;
    return {
      id,
      pool: 'default',
      url: `http://10.0.0.1/${id}`,
      publicUrl: `http://10.0.0.1/${id}`,
      weight: 1,
      state: 'active',
      registeredAt: 0,
      metadata: {},
      livenessDeadline: 0,
      health: 'up',
      ...over,
      inflight,
      reported,
      pending,
      active: Math.max(inflight, reported) + pending,
    };
  };
  const info = (id: string): GatewayInfo => ({ id, adminUrl: `http://gw-${id}:9080`, pools: ['default'], startedAt: 1_000 });
  const status = (id: string, state: 'up' | 'degraded', leases: Record<string, number>): GatewayStatus => ({
    id,
    startedAt: 1_000,
    store: { state, since: 2_000 },
    inFlight: Object.values(leases).reduce((s, n) => s + n, 0),
    pools: { default: { leases, served: {} } },
  });

  it('sorts pools, backends and gateways, and fills in load, bar, shares and the busiest load', () => {
    const snapshot = buildSnapshot({
      at: 5_000,
      windowMs: 10_000,
      listings: [
        { pool: 'zeta', views: [view('z1')] },
        { pool: 'default', views: [view('b', { inflight: 2, reported: 5, weight: 3 }), view('a', { inflight: 4, pending: 1 }), view('c', { state: 'draining' })] },
      ],
      gateways: [
        { info: info('g2'), problem: 'no answer in time' },
        { info: info('g1'), status: status('g1', 'degraded', { a: 4, b: 2 }) },
      ],
      recent: { default: { a: 30, b: 60, c: 10 } },
    });
    expect(snapshot.pools.map((p) => p.pool)).toEqual(['default', 'zeta']);
    const [pool] = snapshot.pools;
    expect(pool.backends.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(pool.recent).toBe(100);
    expect(pool.eligibleWeight).toBe(4);
    expect(pool.backends.map((x) => [x.id, x.load.active, x.bar, x.recent, x.share, x.fairShare])).toEqual([
      ['a', 5, { slots: 4, reportedExtra: 0, pending: 1 }, 30, 0.3, 0.25],
      ['b', 5, { slots: 2, reportedExtra: 3, pending: 0 }, 60, 0.6, 0.75],
      ['c', 0, { slots: 0, reportedExtra: 0, pending: 0 }, 10, 0.1, 0],
    ]);
    expect(snapshot.pools[1].backends[0]).toMatchObject({ id: 'z1', recent: 0, share: null, fairShare: 1 });
    expect(snapshot.busiest).toBe(5);
    expect(snapshot.gateways).toEqual([
      { id: 'g1', adminUrl: 'http://gw-g1:9080', pools: ['default'], startedAt: 1_000, store: { state: 'degraded', since: 2_000 }, inFlight: 6, leases: { default: { a: 4, b: 2 } }, problem: null },
      { id: 'g2', adminUrl: 'http://gw-g2:9080', pools: ['default'], startedAt: 1_000, store: null, inFlight: null, leases: {}, problem: 'no answer in time' },
    ]);
  });

  it.each([
    ['no backend at all', [], 1],
    ['idle backends', [view('a'), view('b')], 1],
    ['one busy backend', [view('a', { reported: 7 }), view('b', { inflight: 2 })], 7],
  ])('draws bars against the busiest load, at least 1: %s', (_, views, busiest) => {
    expect(buildSnapshot({ at: 0, windowMs: 10_000, listings: [{ pool: 'default', views }], gateways: [], recent: {} }).busiest).toBe(busiest);
  });
});
