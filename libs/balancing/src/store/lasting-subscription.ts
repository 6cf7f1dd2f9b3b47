import type { EventBus, MembershipListener } from './load-store';

/**
 * A subscription to membership events that outlives a store away at start: a failed attempt is
 * tried again every `retryMs` until one succeeds (ioredis then resubscribes by itself after any
 * later reconnection). `started` settles after the first attempt, whatever its outcome.
 */
export class LastingSubscription {
  readonly started: Promise<void>;
  private unsubscribe: (() => Promise<void>) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly bus: EventBus,
    private readonly listener: MembershipListener,
    private readonly options: { readonly retryMs: number; readonly onFailure: (err: unknown) => void },
  ) {
    this.started = this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.unsubscribe?.();
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      // No deadline here: ioredis settles it (subscribed, or failed after one reconnection attempt).
      this.unsubscribe = await this.bus.subscribe(this.listener);
      if (this.stopped) await this.unsubscribe();
    } catch (err) {
      this.options.onFailure(err);
      this.retry = setTimeout(() => void this.attempt(), this.options.retryMs);
      this.retry.unref();
    }
  }
}
