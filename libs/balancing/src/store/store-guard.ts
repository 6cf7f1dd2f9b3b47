import { BalancingError } from '../core/errors';

export type StoreState = 'up' | 'degraded';

export interface StoreGuardOptions {
  /** Deadline of each guarded call. */
  readonly timeoutMs: number;
  /** While degraded: how often the store is asked whether it answers again. */
  readonly probeIntervalMs: number;
  /** The question (a PING). */
  readonly probe: () => Promise<unknown>;
  /**
   * Runs once the store answers again, before the guard says "up" (the gateway writes its lease
   * tables here); a failure keeps the guard degraded and probing. Also run when the connection
   * came back without any call noticing it was gone (requestRecovery).
   */
  readonly recover: () => Promise<void>;
  /** One call per transition, for the log line and the metrics. */
  readonly onTransition?: (state: StoreState, detail: { readonly reason?: unknown; readonly degradedForMs?: number }) => void;
  readonly now?: () => number;
}

/** A store call that did not answer within the deadline (or was not tried: the guard was degraded). */
export class StoreDeadlineError extends BalancingError {
  constructor(message: string) {
    super('LB_STORE_UNAVAILABLE', message);
    this.name = 'StoreDeadlineError';
  }
}

interface Outstanding {
  readonly startedAt: number;
  readonly reject: (err: Error) => void;
  done: boolean;
}

/**
 * A deadline and a breaker in front of the store. Every call on the request path goes through
 * call(): past the deadline it is answered with StoreDeadlineError (the caller falls back to its
 * local view) and the guard turns degraded. While degraded no call reaches the store; a probe asks
 * every probeIntervalMs, and once it answers, recover() runs and the guard is up again. Whoever
 * asks (callers, health checks, metrics) reads `state`; transitions are reported once each.
 *
 * One watchdog timer serves every outstanding call (calls on one connection answer in order, so
 * the oldest is checked first), rather than a timer per request.
 */
export class StoreGuard {
  private current: StoreState = 'up';
  private since: number;
  private readonly outstanding = new Set<Outstanding>();
  private watchdog: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private recovering: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: StoreGuardOptions) {
    this.now = options.now ?? Date.now;
    this.since = this.now();
  }

  get state(): StoreState {
    return this.current;
  }

  get isUp(): boolean {
    return this.current === 'up';
  }

  /** Epoch ms of the last transition (when the current state began). */
  get stateSince(): number {
    return this.since;
  }

  /** Runs `fn` under the deadline; rejects at once while degraded. A failure or timeout degrades. */
  call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current !== 'up') return Promise.reject(new StoreDeadlineError('the store is degraded: not tried'));
    if (!this.watchdog) this.startWatchdog();
    return new Promise<T>((resolve, reject) => {
      const entry: Outstanding = { startedAt: this.now(), reject, done: false };
      this.outstanding.add(entry);
      const settle = (err: unknown, value?: T) => {
        if (entry.done) return; // answered after its deadline: the caller has moved on
        entry.done = true;
        this.outstanding.delete(entry);
        if (err === undefined) {
          resolve(value as T);
          return;
        }
        this.fail(err);
        reject(err);
      };
      try {
        fn().then((value) => settle(undefined, value), (err: unknown) => settle(err ?? new Error('store call failed')));
      } catch (err) {
        settle(err ?? new Error('store call failed'));
      }
    });
  }

  /** Something outside a call saw the store fail (a background write): degrade and probe. */
  fail(reason: unknown): void {
    if (this.closed || this.current === 'degraded') return;
    this.current = 'degraded';
    this.since = this.now();
    this.options.onTransition?.('degraded', { reason });
    this.scheduleProbe();
  }

  /**
   * The connection came back (a restart, a failover) and the store may have forgotten or
   * remembered more than its clients hold: run recover() now if up; the probe does it if degraded.
   */
  requestRecovery(): void {
    if (this.closed || this.current !== 'up' || this.recovering) return;
    this.recovering = this.options
      .recover()
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.recovering = undefined;
      });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    clearTimeout(this.probeTimer);
  }

  /** Runs while calls are outstanding: a guard nobody calls (an idle gateway, the embedded store) never ticks. */
  private startWatchdog(): void {
    this.watchdog = setInterval(() => this.expire(), Math.max(5, Math.floor(this.options.timeoutMs / 4)));
    this.watchdog.unref();
  }

  private expire(): void {
    if (this.outstanding.size === 0) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
      return;
    }
    const cutoff = this.now() - this.options.timeoutMs;
    for (const entry of this.outstanding) {
      if (entry.startedAt > cutoff) break; // insertion order: the rest started later
      entry.done = true;
      this.outstanding.delete(entry);
      const err = new StoreDeadlineError(`the store did not answer within ${this.options.timeoutMs} ms`);
      this.fail(err);
      entry.reject(err);
    }
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(), this.options.probeIntervalMs);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.closed || this.current === 'up') return;
    // The probe and the recovery get a longer deadline than a pick: a Redis that has just come
    // back may be loading its data, and nobody is waiting on these.
    const deadline = Math.max(1_000, this.options.timeoutMs * 10);
    try {
      await withDeadline(this.options.probe(), deadline);
      await withDeadline(this.options.recover(), deadline);
    } catch {
      this.scheduleProbe();
      return;
    }
    if (this.closed) return;
    const degradedForMs = this.now() - this.since;
    this.current = 'up';
    this.since = this.now();
    this.options.onTransition?.('up', { degradedForMs });
  }
}

/** `pending`, or StoreDeadlineError after `ms`. */
export function withDeadline<T>(pending: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreDeadlineError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
}
