import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Lease } from '@lb/balancing';
import { forwardUpgrade, upstreamRequestHeaders } from '@lb/proxy';
import { writeRawProblem, type Problem } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import type { AttemptFailure, Transport } from './transport';

/**
 * A WebSocket (any HTTP/1.1 Upgrade): the handshake is forwarded to one backend and, once it
 * agrees, the two sockets are spliced. The slot is held from the handshake until either side
 * closes. A handshake that never reached a backend is replayed on another one, like a GET.
 */
export class UpgradeTransport implements Transport {
  readonly kind = 'session' as const;
  private status = 0;

  constructor(
    readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly config: GatewayConfig,
  ) {
    socket.on('error', () => socket.destroy()); // a reset client must not crash the process
  }

  get clientGone(): boolean {
    return this.socket.destroyed;
  }

  onClose(listener: () => void): void {
    this.socket.once('close', listener);
  }

  identify(): void {
    // The request id travels upstream (X-Request-Id); the 101 comes from the backend as is.
  }

  reject(body: Problem, headers?: Record<string, string>): void {
    this.status = body.status;
    writeRawProblem(this.socket, body, headers);
  }

  admissionProblem() {
    return undefined;
  }

  replayable(): boolean {
    return true; // a handshake carries no body
  }

  forward(lease: Lease, requestId: string, done: (failure: AttemptFailure | undefined) => void): void {
    const { req } = this;
    forwardUpgrade(
      this.socket,
      this.head,
      {
        origin: lease.url,
        path: req.url as string,
        method: req.method as string,
        headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { clientIp: req.socket.remoteAddress, proto: 'http', requestId }),
        upgrade: String(req.headers.upgrade),
        connectTimeoutMs: this.config.UPSTREAM_CONNECT_TIMEOUT_MS,
        idleTimeoutMs: this.config.GATEWAY_SESSION_IDLE_TIMEOUT_MS,
      },
      (outcome) => {
        if (outcome.kind === 'failed') {
          done({ error: outcome.error, responseStarted: false });
          return;
        }
        this.status = outcome.kind === 'upgraded' ? 101 : outcome.status;
        done(undefined);
      },
    );
  }

  abort(): void {
    // forwardUpgrade ties the upstream's lifetime to the client socket's.
  }

  cut(): void {
    this.socket.destroy();
  }

  finalStatus(): number {
    return this.status || 499;
  }
}
