import { describeLoadStoreContract } from '../load-store.contract';
import { MemoryBalancerStore } from './memory-balancer-store';

describeLoadStoreContract('memory', async ({ random }) => new MemoryBalancerStore({ random }));
