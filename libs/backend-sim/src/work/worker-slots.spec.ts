import { EventEmitter } from 'node:events';
import { WorkerSlots, type SlotOwner } from './worker-slots';

/** A stand-in for a raw response: 'close' is the client leaving (or the answer going out). */
const owner = () => Object.assign(new EventEmitter(), { destroyed: false }) as EventEmitter & SlotOwner;

describe('WorkerSlots', () => {
  it('runs at most `limit` at once and hands slots out in arrival order, with the time each waited', async () => {
    let now = 0;
    const slots = new WorkerSlots(2, () => now);
    const owners = [owner(), owner(), owner(), owner()];
    const order: number[] = [];
    const grants = owners.map((o, i) =>
      slots.acquire(o).then((g) => {
        order.push(i);
        return g;
      }),
    );
    const [first, second] = await Promise.all([grants[0], grants[1]]);
    expect(slots.stats).toMatchObject({ slots: 2, running: 2, queued: 2 });
    now = 40;
    second!.release();
    now = 75;
    first!.release();
    const [, , third, fourth] = await Promise.all(grants);
    expect(order).toEqual([0, 1, 2, 3]);
    expect([first!.waitedMs, second!.waitedMs, third!.waitedMs, fourth!.waitedMs]).toEqual([0, 0, 40, 75]);
    expect(slots.stats).toEqual({ slots: 2, running: 2, queued: 0, queueWait: { count: 4, totalMs: 115, maxMs: 75 } });
  });

  it('takes a request whose client left out of the queue, and frees the slot of one that closed', async () => {
    const slots = new WorkerSlots(1);
    const [a, b, c] = [owner(), owner(), owner()];
    const grantA = await slots.acquire(a);
    const pendingB = slots.acquire(b);
    const pendingC = slots.acquire(c);
    expect(slots.stats.queued).toBe(2);
    b.emit('close'); // gave up while queued
    await expect(pendingB).resolves.toBeUndefined();
    expect(slots.stats).toMatchObject({ running: 1, queued: 1 });
    a.emit('close'); // the response closed without release(): the slot still comes back
    expect(grantA).toBeDefined();
    await expect(pendingC).resolves.toMatchObject({ waitedMs: expect.any(Number) });
    expect(slots.stats).toMatchObject({ running: 1, queued: 0 });
    grantA!.release(); // late and repeated releases change nothing
    expect(slots.stats.running).toBe(1);
  });

  it('never queues without a limit, and refuses a client that already left', async () => {
    const slots = new WorkerSlots(undefined);
    const grants = await Promise.all([1, 2, 3].map(() => slots.acquire(owner())));
    expect(grants.map((g) => g?.waitedMs)).toEqual([0, 0, 0]);
    expect(slots.stats).toMatchObject({ slots: null, running: 3, queued: 0 });
    await expect(slots.acquire(Object.assign(owner(), { destroyed: true }))).resolves.toBeUndefined();
  });
});
