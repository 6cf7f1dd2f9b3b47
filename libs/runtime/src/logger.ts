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
