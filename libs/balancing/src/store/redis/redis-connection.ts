import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import { ConfigError, redisUrl, z } from '@lb/runtime';
import { NAME_PATTERN, NAME_RULE } from '../../core/names';

/**
 * How every app reaches Redis: one URL, or a Sentinel group that names the current master.
 * Credentials come separately or in the URL, and are never part of what gets logged.
 */
export interface RedisConnection {
  readonly url?: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM CA that signed the server's certificate (rediss://). */
  readonly caFile?: string;
  readonly sentinels?: readonly { readonly host: string; readonly port: number }[];
  /** The master group the sentinels watch. */
  readonly sentinelName: string;
  readonly sentinelPassword?: string;
}

const sentinelList = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const nodes = v.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
      const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(part);
      const port = m ? Number(m[2]) : 0;
      return m && port >= 1 && port <= 65_535 ? { host: m[1].replace(/^\[|\]$/g, ''), port } : undefined;
    });
    if (nodes.length === 0 || nodes.some((n) => n === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected comma-separated host:port pairs of Redis Sentinels' });
      return z.NEVER;
    }
    return nodes as { host: string; port: number }[];
  });

/** The variables every app reads to reach Redis; spread into each app's environment schema. */
export const REDIS_ENV = {
  /** redis:// or rediss:// (may carry user:password); unset with no sentinels: the in-memory store. */
  REDIS_URL: redisUrl.optional(),
  REDIS_USERNAME: z.string().trim().min(1).optional(),
  /** Overrides a password in REDIS_URL; never echoed (the name ends in PASSWORD). */
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_TLS_CA_FILE: z.string().trim().min(1).optional(),
  /** host:port,... of Redis Sentinels: the apps follow the master they name through failovers. */
  REDIS_SENTINELS: sentinelList.optional(),
  REDIS_SENTINEL_NAME: z.string().trim().regex(NAME_PATTERN, { message: `expected ${NAME_RULE}` }).default('mymaster'),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_KEY_PREFIX: z.string().trim().regex(NAME_PATTERN, { message: `expected ${NAME_RULE}` }).default('lb'),
};

export type RedisEnv = {
  REDIS_URL?: string;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
  REDIS_TLS_CA_FILE?: string;
  REDIS_SENTINELS?: { host: string; port: number }[];
  REDIS_SENTINEL_NAME: string;
  REDIS_SENTINEL_PASSWORD?: string;
};

/** The connection the environment asks for, or undefined for the in-memory store; throws ConfigError. */
export function redisConnectionFrom(env: RedisEnv): RedisConnection | undefined {
  if (env.REDIS_URL && env.REDIS_SENTINELS) {
    throw new ConfigError('REDIS_SENTINELS and REDIS_URL are both set: expected one of them (the sentinels name the master)');
  }
  if (!env.REDIS_URL && !env.REDIS_SENTINELS) {
    for (const name of ['REDIS_PASSWORD', 'REDIS_USERNAME', 'REDIS_TLS_CA_FILE'] as const) {
      if (env[name]) throw new ConfigError(`${name} is set but neither REDIS_URL nor REDIS_SENTINELS is: expected one of them`);
    }
    return undefined;
  }
  if (env.REDIS_TLS_CA_FILE) {
    if (!env.REDIS_URL?.startsWith('rediss://')) throw new ConfigError('REDIS_TLS_CA_FILE is set: expected a rediss:// REDIS_URL');
    try {
      readFileSync(env.REDIS_TLS_CA_FILE);
    } catch (err) {
      throw new ConfigError(`REDIS_TLS_CA_FILE=${JSON.stringify(env.REDIS_TLS_CA_FILE)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return {
    url: env.REDIS_URL,
    username: env.REDIS_USERNAME,
    password: env.REDIS_PASSWORD,
    caFile: env.REDIS_TLS_CA_FILE,
    sentinels: env.REDIS_SENTINELS,
    sentinelName: env.REDIS_SENTINEL_NAME,
    sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
  };
}

/** Where Redis is, for logs and banners: no user, no password. */
export function describeRedis(connection: RedisConnection): string {
  if (connection.sentinels) {
    return `sentinel master "${connection.sentinelName}" via ${connection.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  }
  const url = new URL(connection.url as string);
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/$/, '');
}

/**
 * ioredis settings shared by every connection of every app. Fail fast, come back fast: a command
 * is retried once over a new connection and then fails (callers have their own deadlines and
 * fallbacks), and a lost connection is retried every 250 ms at most, so a restarted Redis is in
 * use again within a fraction of a second.
 */
export function ioredisOptions(connection: RedisConnection): RedisOptions {
  const options: RedisOptions = {
    // Off on purpose: the gateway batches its releases per event-loop turn already, and
    // auto-pipelining cost more than it saved on the pick (6.3k -> 7.9k proxied req/s without it).
    enableAutoPipelining: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 250),
    // After a failover the old master may come back as a replica: writes there answer READONLY.
    // Reconnecting makes the sentinels (or DNS) name the new master.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  if (connection.username) options.username = connection.username;
  if (connection.password) options.password = connection.password;
  if (connection.caFile) options.tls = { ca: readFileSync(connection.caFile) };
  if (connection.sentinels) {
    options.sentinels = connection.sentinels.map((s) => ({ host: s.host, port: s.port }));
    options.name = connection.sentinelName;
    if (connection.sentinelPassword) options.sentinelPassword = connection.sentinelPassword;
    options.sentinelRetryStrategy = (attempt) => Math.min(100 * attempt, 1_000);
    // Not `failoverDetector`: with it, most clients of ioredis 5.11 never came back after the master
    // was killed (10 of 12 in 30 s); without it all did, at the promotion. The lost connection to
    // the dead master is the signal, and a master that stalls is covered by READONLY above.
  }
  return options;
}
