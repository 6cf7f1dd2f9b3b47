/**
 * Told the count to report on every change. `force` means the store may hold another value than
 * the last one reported (a redirect claim wrote its own count): the next report must be sent even
 * if it looks unchanged to the reporter.
 */
export type ActiveListener = (active: number, force: boolean) => void;

/** One counted request or session, from arrival to close. */
export interface Arrival {
  /**
   * Lets the arrival reach listeners (the reporter). `claimedCount` is the count a redirect claim
   * already wrote to the store for it. Works once; after close() it only re-reports the count, so a
   * claim that lands after its client left cannot leave a stale count behind.
   */
  admit(claimedCount?: number): void;
  /** Counts it off, exactly once however many ways it ends; `completed` counts it as served. */
  close(completed: boolean): void;
}

/**
 * The backend's exact count of requests and sessions in progress (queued for a slot included).
 * open() counts one and returns the function that counts it off; that function works once, so a
 * request that finishes, is aborted and errors (all three can be signalled for one request) is
 * still counted off exactly once.
 *
 * Redirect mode splits open() in two: arrive() counts at once but tells no listener, the claim that
 * takes over the gateway's pending slot is sent right then with a count that includes this request
 * (and every other that arrived), and admit() reports only after that. Any report that includes the
 * request therefore reaches the store after its claim: a redirected client is never counted both as
 * pending and as reported by this backend, nor missed in between.
 *
 * Also keeps the integral over time of the count (request x ms): a client that samples it twice
 * gets the time-averaged load of the interval as delta integral / delta t.
 */
export class ActiveConnections {
  private activeCount = 0;
  private servedCount = 0;
  private integral = 0;
  private lastChange: number;
  private readonly startedAt: number;
  private readonly listeners = new Set<ActiveListener>();

  constructor(private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
    this.lastChange = this.startedAt;
  }

  get active(): number {
    return this.activeCount;
  }

  /** Requests and sessions that completed (a full response; a WebSocket closed with a close frame). */
  get served(): number {
    return this.servedCount;
  }

  /** Integral of the active count over time since start, in request x ms. */
  get activeIntegralMs(): number {
    return this.integral + this.activeCount * (this.now() - this.lastChange);
  }

  /** Milliseconds since start, on the clock of activeIntegralMs. */
  get uptimeMs(): number {
    return this.now() - this.startedAt;
  }

  open(): (completed: boolean) => void {
    const arrival = this.arrive();
    arrival.admit();
    return (completed) => arrival.close(completed);
  }

  /** Counts one more now; listeners hear of it on admit() (or with the next change). */
  arrive(): Arrival {
    this.add(1);
    let state: 'arrived' | 'admitted' | 'closed' = 'arrived';
    return {
      admit: (claimedCount) => {
        if (state === 'admitted') return;
        if (state === 'closed') {
          // The claim landed after the client left: correct the store.
          if (claimedCount !== undefined && claimedCount !== this.activeCount) this.emit(true);
          return;
        }
        state = 'admitted';
        // A claim wrote claimedCount behind the reporter's back. Even when it equals the count now,
        // the reporter must not skip its next report as "unchanged": it may be coalescing this +1
        // with a -1 that follows, and would then leave the claim's value in the store.
        this.emit(claimedCount !== undefined);
      },
      close: (completed) => {
        if (state === 'closed') return;
        state = 'closed';
        if (completed) this.servedCount++;
        this.add(-1);
        this.emit(false); // also when never admitted: another change may have reported it meanwhile
      },
    };
  }

  /** Told every change of the count; returns the unsubscribe function. */
  onChange(listener: ActiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private add(delta: number): void {
    const now = this.now();
    this.integral += this.activeCount * (now - this.lastChange);
    this.lastChange = now;
    this.activeCount += delta;
  }

  private emit(force: boolean): void {
    for (const listener of this.listeners) listener(this.activeCount, force);
  }
}
