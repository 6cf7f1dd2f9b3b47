import { randomUUID } from 'node:crypto';
import { describeLoadStoreContract } from '../load-store.contract';
import { testRedisUrl } from '../../testing/test-redis';
import { RedisBalancerStore } from './redis-balancer-store';

describeLoadStoreContract('redis', async ({ random }) =>
  RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: `t-${randomUUID()}`, random }),
);

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
});
