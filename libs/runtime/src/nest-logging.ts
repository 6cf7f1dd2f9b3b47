import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { redactQuery, type Logger } from './logger';

/*
 * Why not nestjs-pino: its middleware runs every request inside an AsyncLocalStorage, and on
 * Node 20 one enabled AsyncLocalStorage turns on promise hooks for the whole process. In the
 * gateway that cost the traffic path 10-15% CPU per proxied request (measured with wrk), although
 * only the admin listener (/health, /metrics) ever went through the middleware. Nothing here
 * needs a request-scoped logger, so an access-log hook and a LoggerService adapter do the job.
 */

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Paths that are polled, not used: logged at debug when they succeed. */
const POLLED_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics', '/status']);

/** Polled requests: health checks, scrapes, status reads, and backends' heartbeats (a few a second each). */
export function isPolled(method: string, path: string): boolean {
  return POLLED_PATHS.has(path) || (method === 'POST' && path.endsWith('/heartbeat'));
}

/** Nest's start-up chatter (modules loaded, one line per route mapped): debug, not info. */
const NEST_BOOTSTRAP_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/**
 * Nest's own messages (bootstrap, `new Logger(ctx)` in providers, unhandled errors) as JSON lines
 * of one pino logger. Nest calls `log(message, ...params, context)`, and `error(message, stack?,
 * context?)`; a trailing string is the context, an object message becomes fields.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const rest = [...params];
    const last = rest.at(-1);
    const fields: Record<string, unknown> = {};
    if (rest.length > 0 && typeof last === 'string') {
      fields.context = last;
      rest.pop();
      if (level === 'info' && NEST_BOOTSTRAP_CONTEXTS.has(last)) level = 'debug';
      if (!this.logger.isLevelEnabled(level)) return;
    }
    let msg: string | undefined;
    if (message instanceof Error) fields.err = message;
    else if (message !== null && typeof message === 'object') Object.assign(fields, message);
    else msg = String(message);
    for (const param of rest) {
      if (param instanceof Error) fields.err = param;
      else if (typeof param === 'string' && (level === 'error' || level === 'fatal') && msg !== undefined) fields.stack = param;
      else if (typeof param === 'string') msg ??= param;
    }
    this.logger[level](fields, msg);
  }
}

/**
 * One JSON access line per answered request of a Fastify app: its id (see requestIdFrom), method,
 * URL (query redacted, see redactQuery), status and time, at warn for 4xx and error for 5xx, and
 * at debug for polled requests that succeed (health checks, scrapes, heartbeats: see isPolled).
 * Install before the app listens.
 */
export function logRequests(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : isPolled(request.method, request.url.split('?', 1)[0]) ? 'debug' : 'info';
    if (logger.isLevelEnabled(level)) {
      logger[level](
        {
          req: { id: request.id, method: request.method, url: redactQuery(request.url) },
          res: { statusCode: status },
          responseTime: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    }
    done();
  });
}
