import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { BackendIdentity } from '../backend-identity';
import { ActiveConnections } from './active-connections';

/** Polled by orchestrators and dashboards: not traffic, so not counted as load. */
const UNCOUNTED_PATHS = new Set(['/health', '/info']);

/**
 * Fastify hooks for every request, 404s and errors included: the `x-backend-id` header, and the
 * active count (+1 on arrival, -1 exactly once when the raw response closes, which Node signals for
 * a completed response, a client abort and a socket error alike). Installed before the server is
 * ready; Fastify attaches root hooks to every route at ready time.
 */
@Injectable()
export class TrafficHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      void reply.header('x-backend-id', this.identity.id);
      const path = (request.raw.url ?? '/').split('?', 1)[0];
      if (!UNCOUNTED_PATHS.has(path)) {
        const res = reply.raw;
        const finish = this.connections.open();
        res.once('close', () => finish(res.writableFinished));
      }
      done();
    });
    // /echo streams bodies back byte for byte, so no body is parsed: every content type (and none)
    // reaches the handler as the untouched request stream. No other route takes a body.
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  }
}
