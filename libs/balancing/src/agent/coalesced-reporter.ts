import { realScheduler, type Scheduler } from './scheduler';

/** Where a backend's active count goes: the store directly (fast) or a registry heartbeat. */
export type ActiveReporter = (active: number) => Promise<void>;

export interface CoalescedReporterOptions {
  readonly scheduler?: Scheduler;
  /** After a failed report, send the latest count again this much later (unless a change sends first). */
  readonly retryMs?: number;
  /** Called once when reports start failing (not on every failure of a streak). */
  readonly onFailing?: (err: unknown, active: number) => void;
  /** Called once when a report succeeds after failures. */
  readonly onRecovered?: (active: number) => void;
  /**
   * Wait this long after a report before sending the next, so a busy backend writes a few reports
   * a second instead of one per request, however fast its receiver answers. A change after a quiet
   * spell is still sent at once. Default 0 (back to back).
   */
  readonly minGapMs?: number;
  /**
   * After a failed report: how long its receiver asked to be left alone (a 429's Retry-After), or
   * undefined. Nothing is sent before then; then the latest count is.
   */
  readonly holdOffMs?: (err: unknown) => number | undefined;
}

/**
 * Pushes a changing count with at most one report in flight. Changes made while a report is in
 * flight only mark the count dirty; when the report ends, one more report carries the latest value.
 * A burst of N changes is therefore two or three writes, and the last value reported is always the
 * last value set (a failed report is retried, so a lost write cannot leave a stale count behind).
 */
export class CoalescedReporter {
  private latest: number | undefined;
  /** Last value the reporter accepted; a follow-up equal to it is skipped. */
  private delivered: number | undefined;
  private inFlight: Promise<void> | undefined;
  private dirty = false;
  private force = false;
  private failing = false;
  private retryHandle: unknown;
  /**
   * Set while nothing may be sent (minGapMs after a report, or a receiver's hold-off); resolves when
   * it ends. `resend`: the count goes out when it ends even if nothing changed meanwhile.
   */
  private pacing: { handle: unknown; done: Promise<void>; release: () => void; resend: boolean } | undefined;
  private closed = false;
  private readonly scheduler: Scheduler;
  private readonly retryMs: number;

  constructor(
    private readonly report: ActiveReporter,
    private readonly options: CoalescedReporterOptions = {},
  ) {
    this.scheduler = options.scheduler ?? realScheduler;
    this.retryMs = options.retryMs ?? 1_000;
  }

  /** The count changed. */
  set(active: number): void {
    this.latest = active;
    this.schedule(false);
  }

  /** Sends the latest count even if it was delivered before (the receiver may have lost it). */
  resend(active = this.latest): void {
    if (active === undefined) return;
    this.latest = active;
    this.schedule(true);
  }

  /** Resolves when no report is in flight and no follow-up is due (failed reports wait for their retry). */
  async idle(): Promise<void> {
    while (this.inFlight || (this.pacing && (this.dirty || this.pacing.resend))) await (this.inFlight ?? this.pacing?.done);
  }

  /** Stops sending: a report in flight finishes (await idle()), nothing new starts. */
  close(): void {
    this.closed = true;
    this.cancelRetry();
    if (this.pacing) {
      this.scheduler.clearTimeout(this.pacing.handle);
      this.pacing.release();
      this.pacing = undefined;
    }
  }

  private schedule(force: boolean): void {
    if (this.closed) return;
    this.force ||= force;
    if (this.inFlight || this.pacing) {
      this.dirty = true;
      return;
    }
    this.send();
  }

  private send(): void {
    this.cancelRetry();
    const value = this.latest;
    const force = this.force;
    this.dirty = false;
    this.force = false;
    if (value === undefined || (!force && !this.failing && value === this.delivered)) return;
    let failure: { err: unknown } | undefined;
    this.inFlight = (async () => {
      try {
        await this.report(value);
        this.delivered = value;
        if (this.failing) {
          this.failing = false;
          this.options.onRecovered?.(value);
        }
      } catch (err) {
        failure = { err };
        this.delivered = undefined;
        if (!this.failing) {
          this.failing = true;
          this.options.onFailing?.(err, value);
        }
      }
    })().then(() => {
      this.inFlight = undefined;
      if (this.closed) return;
      const gap = this.options.minGapMs ?? 0;
      const holdOff = failure && this.options.holdOffMs?.(failure.err);
      if (holdOff !== undefined) return this.pause(Math.max(gap, holdOff), true);
      if (failure) this.retryHandle = this.scheduler.setTimeout(() => this.schedule(true), this.retryMs);
      this.pause(gap, false);
    });
  }

  /** Sends nothing for `ms`; then the latest count if it changed meanwhile (or `resend`). */
  private pause(ms: number, resend: boolean): void {
    if (ms <= 0) {
      if (this.dirty || resend) this.send();
      return;
    }
    let release = () => undefined as void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const handle = this.scheduler.setTimeout(() => {
      this.pacing = undefined;
      release();
      if (!this.closed && (this.dirty || resend)) this.send();
    }, ms);
    this.pacing = { handle, done, release, resend };
  }

  private cancelRetry(): void {
    if (this.retryHandle === undefined) return;
    this.scheduler.clearTimeout(this.retryHandle);
    this.retryHandle = undefined;
  }
}
