import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request id every app logs and the gateway forwards: a well-formed `x-request-id` from the
 * client (or a proxy in front), else a UUID. Anything else a client sends is not trusted into logs.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && CLIENT_ID.test(header) ? header : randomUUID();
}

/**
 * FastifyAdapter options for every Nest app: Fastify names each request before any middleware runs,
 * and the access log (logRequests) writes that id, so it is decided here.
 */
export const FASTIFY_REQUEST_ID_OPTIONS = {
  genReqId: (req: { readonly headers: IncomingHttpHeaders }) => requestIdFrom(req.headers['x-request-id']),
} as const;
