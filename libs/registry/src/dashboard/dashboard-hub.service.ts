import type { ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { type BalancerStore, type GatewayStatus, type MembershipEvent, withDeadline } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import type { Logger } from '@lb/runtime';
import { REGISTRY_LOGGER } from '../tokens';
import { buildSnapshot } from './dashboard-snapshot';
import { GatewayStatusReader } from './gateway-status-reader';
import { ServedHistory, type ServedCounts, type ServedSample } from './served-window';
import { sseFrame, SseViewer, type ViewerLimits } from './sse-viewer';

/** How a registry process feeds its dashboards; the defaults are what the app uses. */
export interface DashboardSettings {
  /** A fresh snapshot this often while anyone watches. */
  readonly intervalMs: number;
  /** How far back the share of recent requests looks. */
  readonly windowMs: number;
  /** Deadline of one round's store reads (a stalled store shows as trouble, and never holds up a shutdown). */
  readonly storeTimeoutMs: number;
  /** Deadline of one gateway's /status read. */
  readonly gatewayTimeoutMs: number;
  /** Gateway /status reads in flight at once. */
  readonly gatewayConcurrency: number;
  /** Open dashboard streams per registry process (503 past it). */
  readonly maxViewers: number;
  /** Membership events a new viewer is shown (those seen since someone started watching). */
  readonly recentEvents: number;
  readonly viewer: ViewerLimits;
}

export const DASHBOARD_SETTINGS: DashboardSettings = {
  intervalMs: 1_000,
  windowMs: 10_000,
  storeTimeoutMs: 2_000,
  gatewayTimeoutMs: 800,
  gatewayConcurrency: 8,
  maxViewers: 100,
  recentEvents: 50,
  // A snapshot of a large fleet is tens of KiB; a client 30 s behind is gone in all but name.
  viewer: { maxBufferedBytes: 1024 * 1024, maxSkippedSnapshots: 30 },
};

/** EventSource waits this long before it reconnects. */
const RETRY_MS = 2_000;

/**
 * The one poller behind every dashboard of this registry process. While at least one viewer is
 * connected it reads the store (pools, listings, gateway announcements) and every gateway's
 * /status once per interval, builds one snapshot and writes the same frame to every viewer, so N
 * open dashboards cost what one costs. Membership events are pushed as they arrive. With no viewer
 * left it stops reading and unsubscribes; on shutdown it ends every stream, so closing the app
 * never waits on an open dashboard.
 */
@Injectable()
export class DashboardHub implements BeforeApplicationShutdown {
  private readonly settings = DASHBOARD_SETTINGS;
  private readonly log: Logger;
  private readonly viewers = new Set<SseViewer>();
  private readonly reader: GatewayStatusReader;
  private readonly history: ServedHistory;
  /** The latest snapshot frame, for a viewer that joins between two rounds. */
  private latest: string | undefined;
  private events: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private subscription: Promise<(() => Promise<void>) | undefined> | undefined;
  /** Logs a failing round once per outage, not once a second. */
  private failing = false;
  private stopped = false;

  constructor(
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    @Inject(REGISTRY_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: DashboardHub.name });
    this.reader = new GatewayStatusReader(this.settings.gatewayTimeoutMs, this.settings.gatewayConcurrency);
    this.history = new ServedHistory(this.settings.windowMs);
  }

  /** False while shutting down or full (maxViewers). */
  get accepting(): boolean {
    return !this.stopped && this.viewers.size < this.settings.maxViewers;
  }

  /** Streams to `res` (already hijacked from the framework); check `accepting` first. */
  attach(res: ServerResponse): void {
    if (!this.accepting) {
      res.destroy();
      return;
    }
    const viewer = new SseViewer(res, this.settings.viewer, () => this.detach(viewer));
    viewer.open(RETRY_MS);
    for (const frame of this.events) viewer.sendEvent(frame);
    if (this.latest) viewer.sendSnapshot(this.latest);
    this.viewers.add(viewer);
    if (this.viewers.size === 1) this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const viewer of this.viewers) viewer.end();
    this.viewers.clear();
    this.stop();
    await this.running;
    await this.reader.close();
  }

  private detach(viewer: SseViewer): void {
    if (this.viewers.delete(viewer) && this.viewers.size === 0) this.stop();
  }

  private start(): void {
    this.subscription ??= this.store
      .subscribe((event) => this.onEvent(event))
      .catch((err: unknown) => {
        this.log.warn({ err }, 'dashboard cannot listen for membership events: snapshots only');
        return undefined;
      });
    if (!this.running) this.schedule(0);
  }

  /** Nobody watches: no more reads, no subscription, nothing kept that would be stale next time. */
  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    void subscription?.then((unsubscribe) => unsubscribe?.()).catch(() => undefined);
    this.latest = undefined;
    this.events = [];
    this.history.clear();
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.stopped || this.viewers.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.round().finally(() => {
        this.running = undefined;
        this.schedule(this.settings.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** One read of everything, one frame for everyone. */
  private async round(): Promise<void> {
    try {
      const { listings, announced } = await withDeadline(this.readStore(), this.settings.storeTimeoutMs);
      const readings = await this.reader.readAll(announced);
      const at = Date.now();
      const samples = new Map<string, ServedSample>();
      for (const { info, status } of readings) if (status) samples.set(info.id, { at, startedAt: status.startedAt, served: servedOf(status) });
      if (this.viewers.size === 0) return; // everyone left while this round read: keep no stale sample
      const recent = this.history.record(announced.map((g) => g.id), samples, at);
      this.latest = sseFrame('snapshot', JSON.stringify(buildSnapshot({ at, windowMs: this.settings.windowMs, listings, gateways: readings, recent })));
      for (const viewer of this.viewers) viewer.sendSnapshot(this.latest);
      if (this.failing) this.log.info('dashboard reads the store again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'dashboard cannot read the store: viewers keep the last snapshot');
      this.failing = true;
      const frame = sseFrame('trouble', JSON.stringify({ at: Date.now(), detail: 'the registry cannot read the store: the figures shown are the last it read' }));
      for (const viewer of this.viewers) viewer.sendEvent(frame);
    }
  }

  private async readStore() {
    const pools = await this.store.pools();
    const listings = await Promise.all(pools.map(async (pool) => ({ pool, views: await this.store.list(pool) })));
    return { listings, announced: await this.store.gateways() };
  }

  private onEvent(event: MembershipEvent): void {
    if (this.viewers.size === 0) return;
    const frame = sseFrame('membership', JSON.stringify({ type: event.type, pool: event.pool, id: event.id, at: Date.now() }));
    this.events = [...this.events, frame].slice(-this.settings.recentEvents);
    for (const viewer of this.viewers) viewer.sendEvent(frame);
  }
}

function servedOf(status: GatewayStatus): ServedCounts {
  return Object.fromEntries(Object.entries(status.pools).map(([pool, s]) => [pool, s.served]));
}
