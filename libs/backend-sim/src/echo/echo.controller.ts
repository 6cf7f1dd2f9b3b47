import { All, Controller, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeRequest, hasBody, headerSafeJson } from './describe-request';

/**
 * Any method on /echo. A request with a body gets it streamed back unchanged, with the request's
 * content type (and length, when it had one); what the backend saw of the request (method, target,
 * headers such as X-Forwarded-*) rides in the `x-echo-request` header as JSON. A request without a
 * body gets that description as the JSON body too.
 */
@Controller()
export class EchoController {
  @All('echo')
  echo(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    const raw = request.raw;
    const seen = describeRequest(raw.method ?? 'GET', raw.url ?? '/echo', raw.headers, raw.socket.remoteAddress);
    void reply.header('x-echo-request', headerSafeJson(seen)).header('cache-control', 'no-store');
    if (!hasBody(raw.headers)) {
      void reply.type('application/json').send(seen);
      return;
    }
    void reply.type(raw.headers['content-type'] ?? 'application/octet-stream');
    if (raw.headers['content-length'] !== undefined && raw.headers['transfer-encoding'] === undefined) {
      void reply.header('content-length', raw.headers['content-length']);
    }
    void reply.send(raw); // the untouched request stream (no body parser ran, see TrafficHooks)
  }
}
