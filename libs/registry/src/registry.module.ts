import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { BalancerStore } from '@lb/balancing';
import { BalancingModule } from '@lb/balancing/nest';
import { redisConnectionFrom } from '@lb/balancing/redis';
import { createLogger, ProblemFilter } from '@lb/runtime';
import type { DestinationStream } from 'pino';
import { BearerTokenGuard } from './auth/bearer-token.guard';
import { BackendsController } from './backends/backends.controller';
import { BackendsService } from './backends/backends.service';
import { PoolsController } from './backends/pools.controller';
import type { RegistryConfig } from './config';
import { DashboardController } from './dashboard/dashboard.controller';
import { DashboardHub } from './dashboard/dashboard-hub.service';
import { HealthController } from './health/health.controller';
import { BalancingErrorsInterceptor } from './http/balancing-errors.interceptor';
import { RateLimits } from './limits/rate-limits';
import { MetricsController } from './metrics/metrics.controller';
import { RegistryMetrics } from './metrics/registry-metrics';
import { HealthChecker } from './health-checks/health-checker.service';
import { StoreTrouble } from './sweeper/store-trouble';
import { Sweeper } from './sweeper/sweeper.service';
import { REGISTRY_CONFIG, REGISTRY_LOGGER } from './tokens';

export interface RegistryDeps {
  /** A store made by the caller (the standalone process shares one memory store); the caller closes it. */
  readonly store?: BalancerStore;
  /** Where log lines go instead of stdout (tests read them). */
  readonly logStream?: DestinationStream;
}

/** The control plane: membership API, liveness sweeper, /health, /metrics. */
@Module({})
export class RegistryModule {
  static register(config: RegistryConfig, deps: RegistryDeps = {}): DynamicModule {
    const settings = { service: 'registry', level: config.LOG_LEVEL, format: config.LOG_FORMAT };
    // Nest's static Logger delegates to the last app that set one: in the standalone process that
    // is not this app, so the registry writes its own lines (and its access log) through this one.
    const logger = createLogger(settings, deps.logStream);
    return {
      module: RegistryModule,
      imports: [
        BalancingModule.forRoot({ redis: redisConnectionFrom(config), keyPrefix: config.REDIS_KEY_PREFIX, store: deps.store }),
        TerminusModule,
      ],
      controllers: [BackendsController, PoolsController, HealthController, MetricsController, DashboardController],
      providers: [
        { provide: REGISTRY_CONFIG, useValue: config },
        { provide: REGISTRY_LOGGER, useValue: logger },
        BackendsService,
        { provide: RateLimits, useValue: new RateLimits(config) },
        RegistryMetrics,
        { provide: StoreTrouble, useValue: new StoreTrouble() },
        HealthChecker,
        Sweeper,
        DashboardHub,
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_GUARD, useClass: BearerTokenGuard },
        { provide: APP_INTERCEPTOR, useClass: BalancingErrorsInterceptor },
      ],
    };
  }
}
