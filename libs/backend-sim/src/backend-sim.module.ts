import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { BalancerStore } from '@lb/balancing';
import { BalancingModule } from '@lb/balancing/nest';
import { redisConnectionFrom } from '@lb/balancing/redis';
import { createLogger, ProblemFilter } from '@lb/runtime';
import type { DestinationStream } from 'pino';
import { BackendIdentity } from './backend-identity';
import type { BackendSimConfig } from './backend-sim.env';
import { EchoController } from './echo/echo.controller';
import { HealthController } from './health/health.controller';
import { InfoController } from './info/info.controller';
import { LoadReporting } from './reporting/load-reporting.service';
import { SessionsController } from './session/sessions.controller';
import { WebSocketSessions } from './session/websocket-sessions';
import { BACKEND_SIM_CONFIG, BACKEND_SIM_LOGGER } from './tokens';
import { ActiveConnections } from './traffic/active-connections';
import { GatewayTokenCheck } from './traffic/gateway-token-check';
import { TrafficHooks } from './traffic/traffic-hooks';
import { WorkController } from './work/work.controller';
import { WorkerSlots } from './work/worker-slots';

export interface BackendSimDeps {
  /** A store shared with other apps in this process (standalone); the caller closes it. */
  readonly store?: BalancerStore;
  /** Where log lines go instead of stdout (tests read them). */
  readonly logStream?: DestinationStream;
}

/** The backend simulator as a Nest module (Fastify only: it installs Fastify hooks). */
@Module({})
export class BackendSimModule {
  static register(config: BackendSimConfig, deps: BackendSimDeps = {}): DynamicModule {
    const redis = redisConnectionFrom(config);
    const useStore = Boolean(deps.store ?? redis);
    return {
      module: BackendSimModule,
      imports: [
        TerminusModule,
        ...(useStore ? [BalancingModule.forRoot({ redis, keyPrefix: config.REDIS_KEY_PREFIX, store: deps.store })] : []),
      ],
      controllers: [WorkController, SessionsController, EchoController, InfoController, HealthController],
      providers: [
        { provide: BACKEND_SIM_CONFIG, useValue: config },
        { provide: BACKEND_SIM_LOGGER, useValue: createLogger({ service: 'backend-sim', level: config.LOG_LEVEL, format: config.LOG_FORMAT }, deps.logStream) },
        { provide: BackendIdentity, useFactory: () => new BackendIdentity(config) },
        { provide: ActiveConnections, useFactory: () => new ActiveConnections() },
        { provide: WorkerSlots, useFactory: () => new WorkerSlots(config.BACKEND_SLOTS) },
        GatewayTokenCheck,
        TrafficHooks,
        WebSocketSessions,
        LoadReporting,
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
      exports: [BackendIdentity, ActiveConnections, LoadReporting, GatewayTokenCheck, WorkerSlots],
    };
  }
}
