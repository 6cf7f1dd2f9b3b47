import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { PROBLEM_CONTENT_TYPE, redactQuery, type Logger } from '@lb/runtime';
import { BackendIdentity } from '../backend-identity';
import { BACKEND_SIM_LOGGER } from '../tokens';
import { ActiveConnections } from './active-connections';
import { GatewayTokenCheck, isCounted, refusalProblem } from './gateway-token-check';

/**
 * Fastify hooks for every request, 404s and errors included: the `x-backend-id` header, and the
 * active count (+1 on arrival, -1 exactly once when the raw response closes, which Node signals for
 * a completed response, a client abort and a socket error alike). With REQUIRE_GATEWAY_TOKEN the
 * arrival is admitted only with a valid, unused gateway token (see GatewayTokenCheck); otherwise it
 * is answered 403 and counted off at once. Installed before the server is ready; Fastify attaches
 * root hooks to every route at ready time.
 */
@Injectable()
export class TrafficHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
    private readonly tokens: GatewayTokenCheck,
    @Inject(BACKEND_SIM_LOGGER) private readonly log: Logger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      void reply.header('x-backend-id', this.identity.id);
      if (!isCounted(request.raw.url)) {
        done();
        return;
      }
      const res = reply.raw;
      const arrival = this.connections.arrive();
      res.once('close', () => arrival.close(res.writableFinished));
      if (!this.tokens.required) {
        arrival.admit();
        done();
        return;
      }
      this.tokens.admit(arrival, this.tokens.verdictFor(request.raw)).then((refusal) => {
        if (!refusal) {
          done();
          return;
        }
        // Why, for whoever watches for forged, expired or replayed tokens (the access line only says 403).
        this.log.warn({ req: { id: request.id, method: request.method, url: redactQuery(request.url) }, reason: refusal }, 'gateway token refused');
        // Answered from the hook: no handler runs (and done() is not called).
        void reply.code(403).header('content-type', PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store').send(refusalProblem(refusal));
      }, done);
    });
    // /echo streams bodies back byte for byte, so no body is parsed: every content type (and none)
    // reaches the handler as the untouched request stream. No other route takes a body.
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  }
}
