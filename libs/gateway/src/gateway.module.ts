import { APP_FILTER } from '@nestjs/core';
import { type DynamicModule, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StoreGuard, answersAtOnce, type BalancerStore } from '@lb/balancing';
import { BALANCER_STORE, BalancingModule } from '@lb/balancing/nest';
import { UpstreamPools } from '@lb/proxy';
import { createLogger, ProblemFilter } from '@lb/runtime';
import type { DestinationStream } from 'pino';
import { HealthController } from './admin/health.controller';
import { StatusController } from './admin/status.controller';
import { MetricsController } from './admin/metrics.controller';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { LeaseBook, guardedReleaser } from './leases/lease-book';
import { LeaseSync } from './leases/lease-sync.service';
import { RouteTableCheck } from './routing/route-table-check';
import { GatewayMetrics } from './metrics';
import { GatewayPresence } from './presence';
import { StoreRecovery } from './store-recovery';
import { LocalView } from './view/local-view';
import { MembershipView } from './view/membership-view.service';
import { GATEWAY_LOGGER } from './tokens';
import { ExchangeTracker } from './traffic/exchange-tracker';
import { Picker } from './traffic/picker';
import { ExchangeLifecycle } from './traffic/exchange-lifecycle';
import { TrafficServer } from './traffic/traffic-server';

/** Closes upstream connection pools after the traffic listener has drained, and stops the guard's timers. */
@Injectable()
class GatewayResourcesOwner implements OnApplicationShutdown {
  constructor(
    private readonly pools: UpstreamPools,
    private readonly guard: StoreGuard,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    this.guard.close();
    await this.pools.destroyAll();
  }
}

/** A snapshot missing a backend (a store that came back empty) keeps it this long before the view drops it. */
const VIEW_MISSING_GRACE_MS = 10_000;

export interface GatewayDeps {
  /** A store shared with other apps in the same process (the standalone default). */
  readonly store?: BalancerStore;
  /** Where log lines go instead of stdout (tests read them). */
  readonly logStream?: DestinationStream;
}

@Module({})
export class GatewayModule {
  static register(config: GatewayConfig, deps: GatewayDeps = {}): DynamicModule {
    const log = createLogger({ service: 'gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT }, deps.logStream);
    return {
      module: GatewayModule,
      imports: [
        BalancingModule.forRoot({ redis: config.redis, keyPrefix: config.REDIS_KEY_PREFIX, store: deps.store }),
        TerminusModule,
      ],
      controllers: [HealthController, MetricsController, StatusController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: GATEWAY_LOGGER, useValue: log },
        { provide: GatewayMetrics, useFactory: () => new GatewayMetrics({ defaultMetrics: !deps.store }) },
        {
          provide: UpstreamPools,
          useFactory: () =>
            new UpstreamPools({
              connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
              connectionsPerBackend: config.UPSTREAM_CONNECTIONS_PER_BACKEND,
              keepAliveTimeoutMs: config.UPSTREAM_KEEPALIVE_TIMEOUT_MS,
              headersTimeoutMs: config.UPSTREAM_HEADERS_TIMEOUT_MS,
              bodyTimeoutMs: config.UPSTREAM_BODY_TIMEOUT_MS,
            }),
        },
        GatewayResourcesOwner,
        { provide: StoreRecovery, useValue: new StoreRecovery() },
        { provide: GatewayPresence, useValue: new GatewayPresence(config) },
        {
          provide: StoreGuard,
          inject: [BALANCER_STORE, StoreRecovery, GatewayMetrics],
          useFactory: (store: BalancerStore, recovery: StoreRecovery, metrics: GatewayMetrics) => {
            const guard = new StoreGuard({
              timeoutMs: config.STORE_TIMEOUT_MS,
              probeIntervalMs: config.STORE_PROBE_INTERVAL_MS,
              probe: () => store.ping(),
              recover: () => recovery.run(),
              onTransition: (state, detail) => {
                metrics.storeDegraded.set(state === 'degraded' ? 1 : 0);
                if (state === 'degraded') {
                  metrics.storeDegradations.inc();
                  log.warn({ err: detail.reason }, 'store degraded: picking from the local view until it answers again');
                } else {
                  log.info({ degradedForMs: detail.degradedForMs }, 'store answers again: lease tables rewritten, picks shared again');
                }
              },
            });
            // A restart or a failover the request path did not notice: the store may remember
            // more, or less, than this gateway holds.
            store.onReconnect(() => guard.requestRecovery());
            return guard;
          },
        },
        {
          provide: LeaseBook,
          inject: [BALANCER_STORE, StoreGuard, GatewayMetrics],
          useFactory: (store: BalancerStore, guard: StoreGuard, metrics: GatewayMetrics) =>
            new LeaseBook(
              answersAtOnce(store)
                ? { storeUp: () => true, releaseInStore: (lease) => store.releaseNow(lease) } // in this process: never degraded
                : guardedReleaser(store, guard),
              () => metrics.storeErrors.inc({ operation: 'release' }),
            ),
        },
        { provide: LocalView, useValue: new LocalView(VIEW_MISSING_GRACE_MS) },
        {
          provide: Picker,
          inject: [BALANCER_STORE, StoreGuard, LocalView, LeaseBook, GatewayMetrics, StoreRecovery],
          useFactory: (store: BalancerStore, guard: StoreGuard, view: LocalView, book: LeaseBook, metrics: GatewayMetrics, recovery: StoreRecovery) => {
            const picker = new Picker(config, store, guard, view, book, metrics);
            recovery.onForgotten(() => picker.distrustEmptyStore(VIEW_MISSING_GRACE_MS));
            return picker;
          },
        },
        { provide: ExchangeTracker, useValue: new ExchangeTracker(config, log) },
        {
          provide: ExchangeLifecycle,
          inject: [Picker, ExchangeTracker, GatewayMetrics],
          useFactory: (picker: Picker, tracker: ExchangeTracker, metrics: GatewayMetrics) => new ExchangeLifecycle(config, picker, tracker, metrics, log),
        },
        RouteTableCheck,
        TrafficServer,
        LeaseSync,
        MembershipView,
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}


