import type { BackendView } from '@lb/balancing';
import { toApiView } from './backend-api-view';

const view = (over: Partial<BackendView>): BackendView => ({
  id: 'b-1',
  pool: 'default',
  url: 'http://10.0.0.1:8101',
  publicUrl: 'http://10.0.0.1:8101',
  weight: 1,
  state: 'active',
  registeredAt: 0,
  metadata: {},
  health: 'up',
  inflight: 0,
  reported: 0,
  pending: 0,
  active: 0,
  livenessDeadline: 1_000,
  ...over,
});

describe('toApiView', () => {
  it.each([
    [{ active: 3, weight: 1 }, 3],
    [{ active: 3, weight: 2 }, 1.5],
    [{ active: 0, weight: 5 }, 0],
  ])('load of %p is %p', (over, load) => {
    expect(toApiView(view(over), 0).load).toBe(load);
  });

  it.each([
    [999, true],
    [1_000, true],
    [1_001, false],
  ])('at %p a backend whose deadline is 1000 is alive: %p', (now, alive) => {
    expect(toApiView(view({}), now).alive).toBe(alive);
  });

  it('keeps the record fields', () => {
    expect(toApiView(view({ reported: 4, active: 4 }), 0)).toMatchObject({ id: 'b-1', url: 'http://10.0.0.1:8101', reported: 4 });
  });
});
