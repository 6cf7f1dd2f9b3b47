import type { Lease } from '../core/types';
import { LeaseHandle } from './lease-handle';
import { MemoryBalancerStore } from './memory/memory-balancer-store';
import { backend } from './load-store.contract';

describe('LeaseHandle', () => {
  it('counts a slot off once however many ways the request ends', async () => {
    const store = new MemoryBalancerStore();
    await store.register(backend('a'), 60_000);
    const other = await store.reserve('p1', 'gw');
    const handle = new LeaseHandle((await store.reserve('p1', 'gw')) as Lease, store, () => undefined);
    expect((await store.get('p1', 'a'))?.inflight).toBe(2);
    handle.release(); // response finished
    handle.release(); // socket closed
    handle.release(); // error after close
    await new Promise((r) => setImmediate(r));
    expect(handle.isReleased).toBe(true);
    expect((await store.get('p1', 'a'))?.inflight).toBe(1);
    await store.release(other!);
  });

  it('hands a failed release to the error callback instead of throwing', async () => {
    const store = new MemoryBalancerStore();
    const failing = { ...store, release: () => Promise.reject(new Error('redis down')) } as unknown as MemoryBalancerStore;
    const errors: string[] = [];
    const lease: Lease = { pool: 'p1', backendId: 'a', url: 'http://x', publicUrl: 'http://x', holder: 'gw' };
    new LeaseHandle(lease, failing, (err) => errors.push((err as Error).message)).release();
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual(['redis down']);
  });
});
