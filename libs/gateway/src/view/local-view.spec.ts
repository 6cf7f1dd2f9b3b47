import type { BackendView } from '@lb/balancing';
import { LocalView } from './local-view';

const view = (id: string, active: number, overrides: Partial<BackendView> = {}): BackendView => ({
  id,
  pool: 'p',
  url: `http://127.0.0.1:1/${id}`,
  publicUrl: `http://127.0.0.1:1/${id}`,
  weight: 1,
  state: 'active',
  registeredAt: 0,
  metadata: {},
  inflight: active,
  reported: 0,
  pending: 0,
  active,
  livenessDeadline: 0,
  health: 'up',
  ...overrides,
});

describe('LocalView', () => {
  const first = () => 0;
  const own = (counts: Record<string, number>) => (id: string) => counts[id] ?? 0;

  it('knows a pool only once a snapshot of it was taken', () => {
    const v = new LocalView(10_000);
    expect(v.isKnown('p')).toBe(false);
    expect(v.pick('p', [], 'least-connections', own({}), first, 0)).toBeUndefined();
    v.applySnapshot('p', [], own({}), 0);
    expect(v.isKnown('p')).toBe(true);
  });

  it('picks the least loaded by the last shared score plus this gateway\u2019s own slots since', () => {
    const v = new LocalView(10_000);
    // At the snapshot a had 4 (1 of them ours), b 2, c 3.
    v.applySnapshot('p', [view('a', 4), view('b', 2), view('c', 3)], own({ a: 1 }), 0);
    expect(v.pick('p', [], 'least-connections', own({ a: 1 }), first, 0)?.id).toBe('b');
    // Since then we took 2 more on b and released ours on a: a 3, b 4, c 3.
    const counts = { a: 0, b: 2 };
    expect(v.pick('p', [], 'least-connections', own(counts), first, 0)?.id).toBe('a');
    expect(v.pick('p', ['a'], 'least-connections', own(counts), first, 0)?.id).toBe('c');
  });

  it('honours weights and draining, and follows drain and activate events', () => {
    const v = new LocalView(10_000);
    v.applySnapshot('p', [view('a', 3, { weight: 3 }), view('b', 2), view('c', 0, { state: 'draining' })], own({}), 0);
    expect(v.pick('p', [], 'least-connections', own({}), first, 0)?.id).toBe('a');
    v.applyEvent({ type: 'drained', pool: 'p', id: 'a' });
    expect(v.pick('p', [], 'least-connections', own({}), first, 0)?.id).toBe('b');
    v.applyEvent({ type: 'activated', pool: 'p', id: 'c' });
    expect(v.pick('p', [], 'least-connections', own({}), first, 0)?.id).toBe('c');
  });

  it('follows the health checks: an unhealthy backend is not picked until it is healthy again', () => {
    const v = new LocalView(10_000);
    v.applySnapshot('p', [view('a', 0), view('b', 5), view('c', 9, { health: 'down' })], own({}), 0);
    v.applyEvent({ type: 'unhealthy', pool: 'p', id: 'a' });
    expect(v.pick('p', ['b'], 'least-connections', own({}), first, 0)).toBeUndefined();
    v.applyEvent({ type: 'healthy', pool: 'p', id: 'c' });
    expect(v.pick('p', ['b'], 'least-connections', own({}), first, 0)?.id).toBe('c');
  });

  it('drops a backend at once on eviction or removal, and returns its record', () => {
    const v = new LocalView(10_000);
    v.applySnapshot('p', [view('a', 0), view('b', 5)], own({}), 0);
    expect(v.applyEvent({ type: 'evicted', pool: 'p', id: 'a' })?.url).toBe('http://127.0.0.1:1/a');
    expect(v.pick('p', [], 'least-connections', own({}), first, 0)?.id).toBe('b');
    expect(v.applyEvent({ type: 'removed', pool: 'p', id: 'b' })?.id).toBe('b');
    expect(v.pick('p', [], 'least-connections', own({}), first, 0)).toBeUndefined();
  });

  it('keeps a backend a snapshot forgot (a store that came back empty) for the grace period only', () => {
    const v = new LocalView(10_000);
    v.applySnapshot('p', [view('a', 0), view('b', 0)], own({}), 0);
    v.applySnapshot('p', [], own({}), 1_000);
    expect(v.size('p')).toBe(2);
    v.applySnapshot('p', [view('b', 0)], own({}), 5_000); // b registered again
    v.applySnapshot('p', [view('b', 0)], own({}), 11_001);
    expect(v.size('p')).toBe(1);
    expect(v.pick('p', [], 'least-connections', own({}), first, 0)?.id).toBe('b');
  });
});
