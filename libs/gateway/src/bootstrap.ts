import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { FASTIFY_REQUEST_ID_OPTIONS, fastifyListenerOptions, listenerTimeoutsFrom, type Logger, logRequests, PinoNestLogger } from '@lb/runtime';
import type { GatewayConfig } from './config';
import { GatewayModule, type GatewayDeps } from './gateway.module';
import { GatewayPresence } from './presence';
import { GATEWAY_LOGGER } from './tokens';
import { TrafficServer } from './traffic/traffic-server';

export interface RunningGateway {
  readonly app: NestFastifyApplication;
  readonly id: string;
  readonly trafficUrl: string;
  readonly adminUrl: string;
  readonly trafficPort: number;
  readonly adminPort: number;
  close(): Promise<void>;
}

/** Starts one gateway: admin app on GATEWAY_ADMIN_PORT, traffic listener on GATEWAY_PORT (0 = ephemeral). */
export async function bootstrapGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule.register(config, deps), new FastifyAdapter({ ...FASTIFY_REQUEST_ID_OPTIONS, ...fastifyListenerOptions(listenerTimeoutsFrom(config)) }), {
    bufferLogs: true,
  });
  const log = app.get<symbol, Logger>(GATEWAY_LOGGER);
  app.useLogger(new PinoNestLogger(log));
  logRequests(app.getHttpAdapter().getInstance(), log);
  try {
    await app.listen(config.GATEWAY_ADMIN_PORT, config.GATEWAY_HOST);
  } catch (err) {
    await app.close().catch(() => undefined); // a refused start must not leave listeners or Redis connections open
    throw err;
  }
  const adminPort = (app.getHttpServer().address() as AddressInfo).port;
  app.get(GatewayPresence).listening(adminPort);
  const trafficPort = app.get(TrafficServer).port;
  return {
    app,
    id: config.gatewayId,
    trafficUrl: `http://127.0.0.1:${trafficPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    trafficPort,
    adminPort,
    close: () => app.close(),
  };
}
