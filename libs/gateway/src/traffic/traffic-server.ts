import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { answerClientError, httpServerTimeouts, type Logger } from '@lb/runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { GATEWAY_LOGGER } from '../tokens';
import { UpstreamPools } from '@lb/proxy';
import { ExchangeLifecycle } from './exchange-lifecycle';
import { ExchangeTracker } from './exchange-tracker';
import { HttpTransport } from './http-transport';
import { UpgradeTransport } from './upgrade-transport';

/**
 * Owns the traffic listener: a bare node:http server (every path belongs to the backends; no
 * framework on the hot path). Opens in the bootstrap hook, drains on shutdown.
 */
@Injectable()
export class TrafficServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server: Server | undefined;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly lifecycle: ExchangeLifecycle,
    private readonly pools: UpstreamPools,
    private readonly tracker: ExchangeTracker,
    @Inject(GATEWAY_LOGGER) private readonly log: Logger,
  ) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { config, lifecycle, pools } = this;
    const server = createServer(
      {
        maxHeaderSize: config.GATEWAY_MAX_HEADER_BYTES,
        // No whole-request deadline: long uploads are bounded by the upstream timeouts instead.
        ...httpServerTimeouts({ headersTimeoutMs: config.GATEWAY_CLIENT_HEADERS_TIMEOUT_MS, requestTimeoutMs: 0 }),
        keepAliveTimeout: 5_000,
      },
      (req, res) => lifecycle.run(new HttpTransport(req, res, config, pools)),
    );
    server.on('upgrade', (req, socket, head) => lifecycle.run(new UpgradeTransport(req, socket, head, config)));
    // Malformed requests, oversized headers and slow clients get problem+json like every other error.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket, config.GATEWAY_MAX_HEADER_BYTES));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.GATEWAY_PORT, this.config.GATEWAY_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.log.info({ port: this.port, gatewayId: this.config.gatewayId }, 'traffic listener open');
  }

  /** Stop accepting, let in-flight exchanges finish (bounded), then cut what is left. */
  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = Date.now() + this.config.GATEWAY_DRAIN_TIMEOUT_MS;
    while (this.tracker.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      server.closeIdleConnections();
    }
    if (this.tracker.inFlight > 0) this.log.warn({ inFlight: this.tracker.inFlight }, 'drain timeout: cutting remaining connections');
    server.closeAllConnections();
    await closed;
  }
}
