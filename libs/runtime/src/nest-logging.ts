import type { Params } from 'nestjs-pino';
import { loggerOptions, type LoggerSettings } from './logger';

/** Paths that are polled, not used: kept out of the access log. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/** nestjs-pino settings shared by the Fastify apps: one JSON access line per request, with its id. */
export function nestLoggerParams(settings: LoggerSettings): Params {
  return {
    pinoHttp: {
      ...loggerOptions(settings),
      genReqId: (req) => (req.headers['x-request-id'] as string | undefined) ?? crypto.randomUUID(),
      autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0]) },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
