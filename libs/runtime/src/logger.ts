import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import prettyStream from 'pino-pretty';

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
  /** `auto` (default): readable lines on a terminal, JSON lines otherwise (Loki, files, pipes). */
  readonly format?: LogFormat;
}

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

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

/**
 * JSON lines on stdout, one event per line; on a terminal (or with LOG_FORMAT=pretty), the same
 * events as readable lines through pino-pretty. The JSON is what Loki and Wazuh read: piped
 * output is always JSON unless asked otherwise.
 */
export function createLogger(settings: LoggerSettings, destination?: DestinationStream): Logger {
  return pino(loggerOptions(settings), destination ?? defaultDestination(settings.format ?? 'auto'));
}

function defaultDestination(format: LogFormat): DestinationStream {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!pretty) return pino.destination({ sync: false });
  return prettyStream({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', messageFormat: '{service} {msg}', singleLine: true, sync: true });
}
