import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DEFAULT_HEALTH_PATH, LastingSubscription, nextHealth, type BackendView, type BalancerStore, type Health, type HealthTrack, type MembershipEvent } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import type { Logger } from '@lb/runtime';
import type { RegistryConfig } from '../config';
import { REGISTRY_CONFIG, REGISTRY_LOGGER } from '../tokens';
import { healthCheckAgent, probeHealth } from './probe-health';

/** At most this many checks in flight at once, so a large fleet is checked in waves. */
const CONCURRENCY = 32;
/** How often a subscription that failed (store away at start) is tried again. */
const SUBSCRIBE_RETRY_MS = 2_000;

/**
 * Active health checks, run by the registry for every backend of every pool (HAProxy's `check
 * inter rise fall`): a backend is picked only once it has passed (its registration is checked
 * before it is stored), leaves the picks of every gateway after HEALTH_CHECK_FALL failed checks in
 * a row, and comes back after HEALTH_CHECK_RISE passed ones. The verdict lives in the store (a
 * backend that is down is out of the pool's load set, so picks cost nothing more) and goes out as
 * an `unhealthy` / `healthy` event. A gateway that cannot connect to a backend says so with a
 * `suspect` event: the registry checks it at once, and a failure then takes it out everywhere.
 *
 * Why the registry and not every gateway: one prober per cluster rather than gateways x backends
 * probes, one verdict that every replica shares, and the registry already owns membership.
 */
@Injectable()
export class HealthChecker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  private readonly agent;
  /** "pool/id" -> this registry's streak for the backend. */
  private readonly tracks = new Map<string, HealthTrack>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private subscription: LastingSubscription | undefined;
  private stopped = false;

  constructor(
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    @Inject(REGISTRY_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: HealthChecker.name });
    this.agent = healthCheckAgent(config.HEALTH_CHECK_TIMEOUT_MS);
  }

  get enabled(): boolean {
    return this.config.HEALTH_CHECK_INTERVAL_MS > 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    this.timer = setInterval(() => {
      if (this.running) return; // a slow round: never stack them
      this.running = this.checkAll()
        .catch((err: unknown) => this.log.debug({ err }, 'health check round failed (store away?)'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.config.HEALTH_CHECK_INTERVAL_MS);
    this.timer.unref();
    // The gateways' `suspect` events; a store away at start is tried again.
    this.subscription = new LastingSubscription(this.store, (event) => this.onEvent(event), {
      retryMs: SUBSCRIBE_RETRY_MS,
      onFailure: (err) => this.log.warn({ err }, 'cannot listen for suspect backends yet (store away?): periodic checks only until then'),
    });
    await this.subscription.started;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.subscription?.stop();
    await this.agent.close();
  }

  /** The first verdict, before a backend is stored: a registration that does not answer is not picked. */
  async firstVerdict(pool: string, id: string, url: string, healthPath: string): Promise<Health> {
    if (!this.enabled) return 'up';
    const health: Health = (await this.check(url, healthPath)) ? 'up' : 'down';
    this.tracks.set(`${pool}/${id}`, { health, streak: 0 });
    return health;
  }

  /** One round over every backend of every pool. */
  async checkAll(): Promise<void> {
    const views = (await Promise.all((await this.store.pools()).map((pool) => this.store.list(pool)))).flat();
    const known = new Set(views.map((v) => `${v.pool}/${v.id}`));
    for (const key of this.tracks.keys()) if (!known.has(key)) this.tracks.delete(key);
    for (let i = 0; i < views.length && !this.stopped; i += CONCURRENCY) {
      await Promise.all(views.slice(i, i + CONCURRENCY).map(async (view) => this.record(view, await this.check(view.url, view.healthPath ?? DEFAULT_HEALTH_PATH))));
    }
  }

  private check(url: string, path: string): Promise<boolean> {
    return probeHealth(this.agent, url, path, this.config.HEALTH_CHECK_TIMEOUT_MS);
  }

  /** Applies one result; a change of verdict goes to the store and out as an event. */
  private async record(view: BackendView, passed: boolean, confirmedSuspect = false): Promise<void> {
    const key = `${view.pool}/${view.id}`;
    let track = this.tracks.get(key);
    // The store's verdict wins over this registry's memory (another replica may have moved it).
    if (!track || track.health !== view.health) track = { health: view.health, streak: 0 };
    const next = confirmedSuspect && !passed ? { health: 'down' as const, streak: 0 } : nextHealth(track, passed, { rise: this.config.HEALTH_CHECK_RISE, fall: this.config.HEALTH_CHECK_FALL });
    this.tracks.set(key, next);
    if (next.health === view.health || this.stopped) return;
    if (!(await this.store.setHealth(view.pool, view.id, next.health))) return; // removed meanwhile
    const fields = { pool: view.pool, backendId: view.id, url: view.url, healthPath: view.healthPath ?? DEFAULT_HEALTH_PATH };
    if (next.health === 'down') this.log.warn(fields, confirmedSuspect ? 'backend unhealthy: a gateway could not connect and the check failed' : 'backend unhealthy: health checks failed');
    else this.log.info(fields, 'backend healthy again');
    await this.store.publish({ type: next.health === 'down' ? 'unhealthy' : 'healthy', pool: view.pool, id: view.id });
  }

  /** A gateway could not connect: check now; a failure takes the backend out at once. */
  private onEvent(event: MembershipEvent): void {
    if (event.type !== 'suspect' || this.stopped) return;
    void (async () => {
      const view = await this.store.get(event.pool, event.id);
      if (!view || view.health === 'down') return;
      await this.record(view, await this.check(view.url, view.healthPath ?? DEFAULT_HEALTH_PATH), true);
    })().catch((err: unknown) => this.log.debug({ err }, 'suspect check failed'));
  }
}
