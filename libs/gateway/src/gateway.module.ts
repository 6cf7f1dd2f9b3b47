import { APP_FILTER } from '@nestjs/core';
import { type DynamicModule, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { BalancerStore } from '@lb/balancing';
import { BALANCER_STORE, BalancingModule } from '@lb/balancing/nest';
import { UpstreamPools } from '@lb/proxy';
import { createLogger, ProblemFilter } from '@lb/runtime';
import { HealthController } from './admin/health.controller';
import { MetricsController } from './admin/metrics.controller';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { HolderBeat } from './holder-beat.service';
import { RouteTableCheck } from './routing/route-table-check';
import { MembershipWatcher } from './membership/membership-watcher';
import { GatewayMetrics } from './metrics';
import { GATEWAY_LOGGER } from './tokens';
import { ExchangeTracker } from './traffic/exchange-tracker';
import { Picker } from './traffic/picker';
import { ProxyHandler } from './traffic/proxy-handler';
import { SessionHandler } from './traffic/session-handler';
import { TrafficServer } from './traffic/traffic-server';

/** Closes upstream connection pools after the traffic listener has drained. */
@Injectable()
class UpstreamPoolsOwner implements OnApplicationShutdown {
  constructor(private readonly pools: UpstreamPools) {}
  async onApplicationShutdown(): Promise<void> {
    await this.pools.destroyAll();
  }
}

export interface GatewayDeps {
  /** A store shared with other apps in the same process (the standalone default). */
  readonly store?: BalancerStore;
}

@Module({})
export class GatewayModule {
  static register(config: GatewayConfig, deps: GatewayDeps = {}): DynamicModule {
    const log = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
    return {
      module: GatewayModule,
      imports: [
        BalancingModule.forRoot({ redisUrl: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, store: deps.store }),
        TerminusModule,
      ],
      controllers: [HealthController, MetricsController],
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
            }),
        },
        UpstreamPoolsOwner,
        { provide: Picker, inject: [BALANCER_STORE], useFactory: (store: BalancerStore) => new Picker(config, store) },
        { provide: ExchangeTracker, inject: [GatewayMetrics], useFactory: (metrics: GatewayMetrics) => new ExchangeTracker(config, metrics, log) },
        {
          provide: ProxyHandler,
          inject: [BALANCER_STORE, Picker, UpstreamPools, ExchangeTracker, GatewayMetrics],
          useFactory: (store: BalancerStore, picker: Picker, pools: UpstreamPools, tracker: ExchangeTracker, metrics: GatewayMetrics) =>
            new ProxyHandler(config, store, picker, pools, tracker, metrics, log),
        },
        {
          provide: SessionHandler,
          inject: [BALANCER_STORE, Picker, ExchangeTracker, GatewayMetrics],
          useFactory: (store: BalancerStore, picker: Picker, tracker: ExchangeTracker, metrics: GatewayMetrics) =>
            new SessionHandler(config, store, picker, tracker, metrics, log),
        },
        RouteTableCheck,
        TrafficServer,
        HolderBeat,
        MembershipWatcher,
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}


