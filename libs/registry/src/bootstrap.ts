import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { BalancerStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { FASTIFY_REQUEST_ID_OPTIONS, fastifyListenerOptions, listenerTimeoutsFrom, type Logger, logRequests, PinoNestLogger } from '@lb/runtime';
import type { RegistryConfig } from './config';
import { acceptJsonBodiesOnly } from './http/json-bodies';
import { type RegistryDeps, RegistryModule } from './registry.module';
import { REGISTRY_LOGGER } from './tokens';

export interface RunningRegistry {
  readonly app: NestFastifyApplication;
  /** Where this process reaches the registry (loopback when listening on every interface). */
  readonly url: string;
  /** The port actually bound (REGISTRY_PORT=0 picks a free one). */
  readonly port: number;
  close(): Promise<void>;
}

/** Builds and starts the registry; used by apps/registry, the standalone process and the tests. */
export async function bootstrapRegistry(config: RegistryConfig, deps: RegistryDeps = {}): Promise<RunningRegistry> {
  const bodyLimit = config.REGISTRY_MAX_BODY_BYTES;
  const app = await NestFactory.create<NestFastifyApplication>(
    RegistryModule.register(config, deps),
    new FastifyAdapter({ bodyLimit, ...FASTIFY_REQUEST_ID_OPTIONS, ...fastifyListenerOptions(listenerTimeoutsFrom(config)) }),
    { bufferLogs: true, bodyParser: false },
  );
  const log = app.get<symbol, Logger>(REGISTRY_LOGGER);
  try {
    app.useLogger(new PinoNestLogger(log));
    logRequests(app.getHttpAdapter().getInstance(), log);
    acceptJsonBodiesOnly(app.getHttpAdapter().getInstance(), bodyLimit);
    await app.listen(config.REGISTRY_PORT, config.REGISTRY_HOST);
  } catch (err) {
    await app.close(); // a port in use must not leave a Redis connection or the sweeper behind
    throw err;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://${reachableHost(config.REGISTRY_HOST)}:${port}`;
  const store = app.get<symbol, BalancerStore>(BALANCER_STORE).kind;
  log.info({ host: config.REGISTRY_HOST, port, url, store }, 'registry listening');
  return { app, url, port, close: () => app.close() };
}

function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
