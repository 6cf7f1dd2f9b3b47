import { CoalescedReporter } from '@lb/balancing';
import { ActiveConnections } from './active-connections';

describe('ActiveConnections', () => {
  it('counts each request off exactly once, however many ways it ends', () => {
    const connections = new ActiveConnections();
    const seen: number[] = [];
    connections.onChange((n) => seen.push(n));
    const a = connections.open();
    const b = connections.open();
    a(true);
    a(false); // finish, then close: still one
    b(false);
    b(true);
    expect(connections.active).toBe(0);
    expect(connections.served).toBe(1);
    expect(seen).toEqual([1, 2, 1, 0]);
  });

  it('stops telling a listener that unsubscribed', () => {
    const connections = new ActiveConnections();
    const seen: number[] = [];
    const off = connections.onChange((n) => seen.push(n));
    connections.open();
    off();
    connections.open();
    expect(seen).toEqual([1]);
    expect(connections.active).toBe(2);
  });
});

describe('ActiveConnections in redirect mode (arrive, claim, admit)', () => {
  const watch = (connections: ActiveConnections) => {
    const seen: [number, boolean][] = [];
    connections.onChange((n, force) => seen.push([n, force]));
    return seen;
  };

  it('counts an arrival at once but reports it only when admitted', () => {
    const connections = new ActiveConnections();
    const seen = watch(connections);
    const a = connections.arrive();
    const b = connections.arrive();
    expect(connections.active).toBe(2); // a claim now carries both
    expect(seen).toEqual([]);
    a.admit(2);
    b.admit(2);
    expect(seen).toEqual([
      [2, true],
      [2, true],
    ]);
  });

  it('counts a refused arrival off without ever serving it', () => {
    const connections = new ActiveConnections();
    const seen = watch(connections);
    const refused = connections.arrive();
    refused.close(false);
    refused.admit();
    refused.close(true);
    expect(connections.active).toBe(0);
    expect(connections.served).toBe(0);
    expect(seen).toEqual([[0, false]]);
  });

  it('forces a report when the count moved while the claim was in flight', () => {
    const connections = new ActiveConnections();
    const seen = watch(connections);
    const earlier = connections.open();
    const a = connections.arrive(); // claims with 2
    earlier(true); // reports 1 while the store is about to hold 2
    a.admit(2);
    expect(seen.at(-1)).toEqual([1, true]);
  });

  it('corrects the store when the client left before its claim landed', () => {
    const connections = new ActiveConnections();
    const seen = watch(connections);
    const a = connections.arrive(); // claims with 1
    a.close(false);
    a.admit(1); // the claim wrote 1; the truth is 0
    expect(seen).toEqual([
      [0, false],
      [0, true],
    ]);
  });
});

describe('ActiveConnections over time', () => {
  it('integrates the count over time (request x ms)', () => {
    let now = 1_000;
    const connections = new ActiveConnections(() => now);
    const a = connections.open(); // 1 active from t=0
    now += 100;
    const b = connections.open(); // 2 active from t=100
    now += 50;
    a(true); // 1 active from t=150
    now += 10;
    expect(connections.activeIntegralMs).toBe(100 + 2 * 50 + 10);
    b(true);
    now += 1_000;
    expect(connections.activeIntegralMs).toBe(210);
    expect(connections.uptimeMs).toBe(1_160);
  });
});

describe('ActiveConnections feeding a coalescing reporter, with redirect claims', () => {
  it('leaves the true count in the store when a claimed arrival comes and goes while a report is in flight', async () => {
    // One connection to the store: a report is applied when sent and acknowledged later, and the
    // claim, sent after it, is applied after it.
    let stored = -1;
    let acknowledge = () => undefined as void;
    let holdFirst = true;
    const reporter = new CoalescedReporter(async (n) => {
      stored = n;
      if (holdFirst) {
        holdFirst = false;
        await new Promise<void>((resolve) => (acknowledge = resolve));
      }
    });
    const connections = new ActiveConnections();
    connections.onChange((n, force) => (force ? reporter.resend(n) : reporter.set(n))); // as LoadReporting wires it
    reporter.resend(0); // applied (0), not yet acknowledged

    const a = connections.arrive();
    stored = connections.active; // the claim writes 1: it includes this client
    a.admit(1);
    a.close(true); // served at once: 0 again, the value the reporter last delivered
    acknowledge();
    await reporter.idle();

    expect(connections.active).toBe(0);
    expect(stored).toBe(0); // not the claim's 1, left behind by a report skipped as "unchanged"
  });
});
