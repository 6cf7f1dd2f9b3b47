import { randomUUID } from 'node:crypto';
import { describeLoadStoreContract } from '../load-store.contract';
import { testRedisUrl } from '../../testing/test-redis';
import { RedisBalancerStore } from './redis-balancer-store';

describeLoadStoreContract('redis', async ({ random }) =>
  RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: `t-${randomUUID()}`, random }),
);
