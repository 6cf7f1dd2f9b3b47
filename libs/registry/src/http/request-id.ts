import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids for Fastify apps: a well-formed `x-request-id` from the client (or a proxy in front),
 * else a UUID. Give it to `new FastifyAdapter({ genReqId })`: Fastify sets `req.id` before any
 * middleware runs, and pino-http keeps an id that is already set, so the `genReqId` of the
 * pino-http options is never called under Fastify.
 */
export function requestId(req: { readonly headers: IncomingHttpHeaders }): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && CLIENT_ID.test(header) ? header : randomUUID();
}
