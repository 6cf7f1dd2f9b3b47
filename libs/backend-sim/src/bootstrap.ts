import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { FASTIFY_REQUEST_ID_OPTIONS, fastifyListenerOptions, listenerTimeoutsFrom, type Logger, logRequests, PinoNestLogger } from '@lb/runtime';
import { BackendIdentity } from './backend-identity';
import type { BackendSimConfig } from './backend-sim.env';
import { BackendSimModule, type BackendSimDeps } from './backend-sim.module';
import { LoadReporting } from './reporting/load-reporting.service';
import { ActiveConnections } from './traffic/active-connections';
import { GatewayTokenCheck } from './traffic/gateway-token-check';
import { BACKEND_SIM_LOGGER } from './tokens';

export interface RunningBackendSim {
  readonly app: NestFastifyApplication;
  readonly id: string;
  /** The advertised URL (what gateways are told). */
  readonly url: string;
  readonly port: number;
  active(): number;
  /** Deregisters, then closes the listener. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts one simulator: listens on BACKEND_HOST:BACKEND_PORT (0 = ephemeral), then, with the real
 * address known, starts reporting (registration is attempted once before this resolves and retried
 * in the background). Safe to call several times in one process.
 */
export async function bootstrapBackendSim(config: BackendSimConfig, deps: BackendSimDeps = {}): Promise<RunningBackendSim> {
  // Redirect mode: the token is checked and stripped before routing, so the router, the query parser,
  // the handlers and the access log see the URL without it (rewriteUrl is synchronous; the claim
  // follows in the onRequest hook). The check is a provider, known once the app exists; no request
  // can arrive before listen().
  let tokens: GatewayTokenCheck | undefined;
  const options = { ...FASTIFY_REQUEST_ID_OPTIONS, ...fastifyListenerOptions(listenerTimeoutsFrom(config)) };
  const adapter = new FastifyAdapter(
    config.REQUIRE_GATEWAY_TOKEN ? { ...options, rewriteUrl: (req: IncomingMessage) => tokens?.rewriteUrl(req) ?? req.url ?? '/' } : options,
  );
  const app = await NestFactory.create<NestFastifyApplication>(BackendSimModule.register(config, deps), adapter, { bufferLogs: true });
  tokens = app.get(GatewayTokenCheck);
  const log = app.get<symbol, Logger>(BACKEND_SIM_LOGGER);
  app.useLogger(new PinoNestLogger(log));
  logRequests(app.getHttpAdapter().getInstance(), log);
  try {
    await app.listen(config.BACKEND_PORT, config.BACKEND_HOST);
  } catch (err) {
    await app.close().catch(() => undefined); // e.g. EADDRINUSE: release what the module opened (Redis)
    throw err;
  }
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const me = app.get(BackendIdentity).settle(port);
  const reporting = app.get(LoadReporting);
  const connections = app.get(ActiveConnections);
  log.info({ id: me.id, url: me.url, publicUrl: me.publicUrl, pool: me.pool, port, reporting: reporting.mode }, 'backend-sim listening');
  await reporting.start();
  let closing: Promise<void> | undefined;
  return {
    app,
    id: me.id,
    url: me.url,
    port,
    active: () => connections.active,
    close: () => {
      closing ??= reporting.stop().finally(() => app.close());
      return closing;
    },
  };
}
