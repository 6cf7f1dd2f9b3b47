import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import { loggerOptions, type LoggerSettings } from './logger';

/** Paths that are polled, not used: kept out of the access log. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/** Under Fastify, Nest hands pino-http a request whose `url` may be rewritten; the original is what was asked. */
function pathOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  return url.split('?', 1)[0];
}

/** nestjs-pino settings shared by the Fastify apps: one JSON access line per request, with its id. */
export function nestLoggerParams(settings: LoggerSettings): Params {
  return {
    pinoHttp: {
      ...loggerOptions(settings),
      autoLogging: { ignore: (req) => QUIET_PATHS.has(pathOf(req)) },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
