import { planEviction, type EvictionInput } from './eviction-plan';

const lapsed = (...ids: string[]) => ids.map((id) => ({ id }));
const base: EvictionInput = { lapsed: [], poolSize: 4, storeHealthyForMs: 60_000, ttlMs: 3_000, maxShare: 0.5, recentlyEvicted: 0 };

describe('planEviction', () => {
  it.each<[string, Partial<EvictionInput>, ReturnType<typeof planEviction>]>([
    ['nothing lapsed', {}, { evict: [], confirm: [], forgive: [] }],
    ['one of four lapsed, store healthy', { lapsed: lapsed('a') }, { evict: ['a'], confirm: [], forgive: [] }],
    ['two of four', { lapsed: lapsed('a', 'b') }, { evict: ['a', 'b'], confirm: [], forgive: [] }],
    ['the whole pool: half now, the rest only if confirmed down', { lapsed: lapsed('a', 'b', 'c', 'd') }, { evict: ['a', 'b'], confirm: ['c', 'd'], forgive: [] }],
    ['budget already spent in this window', { lapsed: lapsed('c'), recentlyEvicted: 2 }, { evict: [], confirm: ['c'], forgive: [] }],
    ['a pool of one is never evicted on a lapse alone', { lapsed: lapsed('a'), poolSize: 1 }, { evict: [], confirm: ['a'], forgive: [] }],
    ['store stalled within the last TTL: forgive all', { lapsed: lapsed('a', 'b', 'c', 'd'), storeHealthyForMs: 2_999 }, { evict: [], confirm: [], forgive: ['a', 'b', 'c', 'd'] }],
    ['registry just started', { lapsed: lapsed('a'), storeHealthyForMs: 0 }, { evict: [], confirm: [], forgive: ['a'] }],
    ['share 1 lets a whole pool go', { lapsed: lapsed('a', 'b', 'c', 'd'), maxShare: 1 }, { evict: ['a', 'b', 'c', 'd'], confirm: [], forgive: [] }],
  ])('%s', (_name, input, expected) => {
    expect(planEviction({ ...base, ...input })).toEqual(expected);
  });
});
