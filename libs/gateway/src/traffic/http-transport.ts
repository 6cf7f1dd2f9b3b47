import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Lease } from '@lb/balancing';
import { BodyLimit, forwardRequest, upstreamRequestHeaders, type UpstreamPools } from '@lb/proxy';
import { writeProblem, type Problem } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import { gatewayProblems } from './gateway-problems';
import type { AttemptFailure, Transport } from './transport';

/** Methods that may be replayed on another backend when the first one could not be reached. */
const REPLAYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why an upstream attempt is stopped when its client leaves; made once, only when it happens. */
const clientClosed = () => new Error('client closed the connection');

/**
 * A plain request, a stream (SSE, long poll) or an upload: forwarded through a pooled undici
 * dispatcher, streamed both ways with backpressure, never buffered whole.
 */
export class HttpTransport implements Transport {
  readonly kind = 'request' as const;
  private readonly hasBody: boolean;
  private upstream: { abort(reason: Error): void } | undefined;
  /** Stamped on every answer: a relayed response (see forwardRequest), a problem or a redirect. */
  private requestId = '';

  constructor(
    readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly config: GatewayConfig,
    private readonly pools: UpstreamPools,
  ) {
    this.hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  }

  get clientGone(): boolean {
    return this.res.destroyed;
  }

  onClose(listener: () => void): void {
    this.res.on('close', listener); // a response closes once
  }

  identify(requestId: string): void {
    this.requestId = requestId;
  }

  reject(body: Problem, headers: Record<string, string> = {}): void {
    writeProblem(this.res, body, this.requestId ? { ...headers, 'x-request-id': this.requestId } : headers);
  }

  admissionProblem() {
    if (Number(this.req.headers['content-length'] ?? 0) <= this.config.GATEWAY_MAX_BODY_BYTES) return undefined;
    return { problem: gatewayProblems(this.config).bodyTooLarge(), headers: { connection: 'close' } };
  }

  replayable(): boolean {
    return !this.hasBody && REPLAYABLE_METHODS.has(this.req.method as string);
  }

  forward(lease: Lease, requestId: string, done: (failure: AttemptFailure | undefined) => void): void {
    const { req } = this;
    const knownLength = req.headers['content-length'] !== undefined;
    const body = !this.hasBody ? null : knownLength ? req : req.pipe(new BodyLimit(this.config.GATEWAY_MAX_BODY_BYTES));
    this.upstream = forwardRequest(
      this.pools.get(lease.url),
      {
        path: req.url as string,
        method: req.method as string,
        headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { clientIp: req.socket.remoteAddress, proto: 'http', requestId }),
        requestId,
        body,
      },
      this.res,
      done,
    );
  }

  abort(): void {
    if (this.upstream && !this.res.writableFinished) this.upstream.abort(clientClosed());
  }

  cut(error: Error): void {
    this.res.destroy(error);
  }

  finalStatus(): number {
    return this.res.writableFinished ? this.res.statusCode : 499; // 499: the client closed first (nginx's convention)
  }

  redirect(location: string): void {
    this.res.writeHead(307, {
      location,
      'cache-control': 'no-store',
      'x-request-id': this.requestId,
      'content-length': '0',
      // The client sends the body again to the backend; do not read this copy of it.
      ...(this.hasBody ? { connection: 'close' } : {}),
    });
    this.res.end();
  }
}
