import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths pino removes from every line: credentials and signed tokens never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-registry-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'token',
  'registryToken',
];

/**
 * A request target as access logs write it: the path, and in place of a query `?[redacted]`.
 * Any parameter can carry a credential (an API key, a redirect token, a signed URL's signature, an
 * OAuth code, a bare `?<token>`), and a gateway cannot know its backends' parameter names, so
 * neither values nor names are kept; the path is what requests are grouped and searched by.
 */
export function redactQuery(url: string | undefined): string | undefined {
  const at = url?.indexOf('?') ?? -1;
  if (url === undefined || at < 0 || at === url.length - 1) return url;
  return `${url.slice(0, at)}?[redacted]`;
}

export interface LoggerSettings {
  readonly service: string;
  readonly level: string;
}

export function loggerOptions({ service, level }: LoggerSettings): LoggerOptions {
  return {
    level,
    base: { service, pid: process.pid },
    // ISO time and a string level: Loki and Grafana read them without parsing rules.
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
}

/** JSON lines on stdout, one event per line. Pretty output is `| npx pino-pretty`, never a code path. */
export function createLogger(settings: LoggerSettings, destination: DestinationStream = pino.destination({ sync: false })): Logger {
  return pino(loggerOptions(settings), destination);
}
