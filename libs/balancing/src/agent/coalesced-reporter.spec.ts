import { CoalescedReporter } from './coalesced-reporter';
import { FakeScheduler, flushPromises } from './fake-scheduler';

/** A reporter whose reports stay in flight until the test settles them. */
function heldReporter() {
  const writes: number[] = [];
  const pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const report = (active: number) => {
    writes.push(active);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<void>((resolve, reject) => pending.push({ resolve, reject })).finally(() => inFlight--);
  };
  return {
    report,
    writes,
    maxInFlight: () => maxInFlight,
    pendingCount: () => pending.length,
    async settle(err?: Error) {
      const next = pending.shift();
      if (!next) throw new Error('no report in flight');
      if (err) next.reject(err);
      else next.resolve();
      await flushPromises();
    },
  };
}

describe('CoalescedReporter', () => {
  it('turns a burst of 1000 changes into two writes, the last one carrying the final count', async () => {
    const r = heldReporter();
    const reporter = new CoalescedReporter(r.report);
    for (let n = 1; n <= 1000; n++) reporter.set(n);
    await r.settle();
    await r.settle();
    await reporter.idle();
    expect(r.writes).toEqual([1, 1000]);
  });

  it('paces a steady stream of changes: the follow-up waits out minGapMs, a change after a quiet spell goes at once', async () => {
    const r = heldReporter();
    const scheduler = new FakeScheduler();
    const reporter = new CoalescedReporter(r.report, { scheduler, minGapMs: 50 });
    reporter.set(1);
    expect(r.writes).toEqual([1]); // at once
    reporter.set(2);
    reporter.set(3);
    await r.settle();
    expect(r.writes).toEqual([1]); // the follow-up waits for the gap...
    reporter.set(4);
    await scheduler.advance(49);
    expect(r.writes).toEqual([1]);
    await scheduler.advance(1);
    expect(r.writes).toEqual([1, 4]); // ...and carries the latest count
    await r.settle();
    await reporter.idle(); // nothing due: idle does not wait out the gap
    await scheduler.advance(50);
    reporter.set(5);
    expect(r.writes).toEqual([1, 4, 5]);
    await r.settle();
  });

  it('keeps the gap after a report that answered at once: a change every millisecond is still ~1 report per gap', async () => {
    const writes: number[] = [];
    const scheduler = new FakeScheduler();
    const reporter = new CoalescedReporter(async (n) => void writes.push(n), { scheduler, minGapMs: 100 });
    for (let n = 1; n <= 1_000; n++) {
      reporter.set(n);
      await scheduler.advance(1);
    }
    await scheduler.advance(100);
    expect(writes.length).toBeLessThanOrEqual(11);
    expect(writes.at(-1)).toBe(1_000);
  });

  it('sends nothing until a hold-off the receiver asked for has passed, then the latest count', async () => {
    const r = heldReporter();
    const scheduler = new FakeScheduler();
    const busy = Object.assign(new Error('429'), { retryAfterMs: 1_000 });
    const reporter = new CoalescedReporter(r.report, { scheduler, minGapMs: 100, holdOffMs: (err) => (err as typeof busy).retryAfterMs });
    reporter.set(1);
    await r.settle(busy);
    reporter.set(2);
    await scheduler.advance(999);
    expect(r.writes).toEqual([1]);
    await scheduler.advance(1);
    expect(r.writes).toEqual([1, 2]);
    await r.settle(busy);
    await scheduler.advance(1_000); // held off again, then the same count once more, unchanged
    expect(r.writes).toEqual([1, 2, 2]);
    await r.settle();
    await scheduler.advance(10_000);
    expect(r.writes).toEqual([1, 2, 2]);
  });

  it('sends one follow-up with the latest value after each report that saw changes', async () => {
    const r = heldReporter();
    const reporter = new CoalescedReporter(r.report);
    reporter.set(1);
    reporter.set(2);
    reporter.set(3);
    await r.settle(); // 1 done: 3 goes out
    reporter.set(4);
    await r.settle(); // 3 done: 4 goes out
    await r.settle();
    expect(r.writes).toEqual([1, 3, 4]);
    expect(r.pendingCount()).toBe(0);
  });

  it('skips a follow-up equal to what was just delivered', async () => {
    const r = heldReporter();
    const reporter = new CoalescedReporter(r.report);
    reporter.set(1);
    reporter.set(2);
    reporter.set(1);
    await r.settle();
    expect(r.writes).toEqual([1]);
    reporter.set(1);
    expect(r.writes).toEqual([1]);
  });

  it('keeps at most one report in flight and ends on the final count, whatever the interleaving', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const r = heldReporter();
    const reporter = new CoalescedReporter(r.report);
    let count = 0;
    for (let step = 0; step < 2_000; step++) {
      if (random() < 0.8 || r.pendingCount() === 0) {
        count = Math.max(0, count + (random() < 0.55 ? 1 : -1));
        reporter.set(count);
      } else {
        await r.settle();
      }
    }
    while (r.pendingCount() > 0) await r.settle();
    expect(r.maxInFlight()).toBe(1);
    expect(r.writes.at(-1)).toBe(count);
    expect(r.writes.length).toBeLessThan(2_000);
  });

  it('retries a failed report with the latest count, and says so once per streak', async () => {
    const scheduler = new FakeScheduler();
    const r = heldReporter();
    const failing: number[] = [];
    const recovered: number[] = [];
    const reporter = new CoalescedReporter(r.report, {
      scheduler,
      retryMs: 1_000,
      onFailing: (_err, active) => failing.push(active),
      onRecovered: (active) => recovered.push(active),
    });
    reporter.set(5);
    await r.settle(new Error('redis down'));
    reporter.set(6); // a change sends at once, without waiting for the retry
    await r.settle(new Error('redis still down'));
    expect(r.writes).toEqual([5, 6]);
    await scheduler.advance(1_000);
    expect(r.writes).toEqual([5, 6, 6]);
    await r.settle();
    expect(failing).toEqual([5]);
    expect(recovered).toEqual([6]);
    await scheduler.advance(10_000);
    expect(r.writes).toEqual([5, 6, 6]);
  });

  it('resend() delivers the same value again (the receiver lost it)', async () => {
    const r = heldReporter();
    const reporter = new CoalescedReporter(r.report);
    reporter.set(2);
    await r.settle();
    reporter.resend();
    await r.settle();
    expect(r.writes).toEqual([2, 2]);
  });

  it('after close() nothing new is sent, and idle() waits for the report in flight', async () => {
    const r = heldReporter();
    const reporter = new CoalescedReporter(r.report);
    reporter.set(1);
    reporter.set(2);
    reporter.close();
    reporter.set(3);
    let idle = false;
    const waiting = reporter.idle().then(() => (idle = true));
    await flushPromises();
    expect(idle).toBe(false);
    await r.settle();
    await waiting;
    expect(r.writes).toEqual([1]);
  });
});
