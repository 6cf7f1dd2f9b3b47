import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isValidName, NAME_RULE, POLICIES } from '@lb/balancing';
import { parseKeyRing, type KeyRing } from '@lb/balancing/token';
import { REDIS_ENV, redisConnectionFrom, type RedisConnection } from '@lb/balancing/redis';
import { bool, bytes, ConfigError, httpUrl, LISTENER_TIMEOUT_ENV, logFormat, logLevel, ms, nonNegativeInt, port, positiveInt, z } from '@lb/runtime';
import { MODES, parseRoutes, type Route } from './routing/route-table';

/** The only list of variables the gateway reads. */
export const GatewayEnv = z.object({
  GATEWAY_PORT: port.default(8080),
  GATEWAY_ADMIN_PORT: port.default(9080),
  GATEWAY_HOST: z.string().default('0.0.0.0'),
  /**
   * Where the registry reaches this gateway's admin port (/status for the dashboard). Default: the
   * Nomad-given address of the "admin" port, else the listening address (this host's name for a wildcard).
   */
  GATEWAY_ADMIN_URL: httpUrl.optional(),
  NOMAD_ADDR_admin: z.string().trim().min(1).optional(),
  /** Names this replica's lease table in Redis; unique per process by default. */
  GATEWAY_ID: z.string().refine(isValidName, { message: `expected ${NAME_RULE}` }).optional(),
  /** The pool requests go to when GATEWAY_ROUTES is unset. */
  GATEWAY_POOL: z.string().refine(isValidName, { message: `expected ${NAME_RULE}` }).default('default'),
  /** proxy: forward and stream back; redirect: answer 307 to the chosen backend with a signed token. */
  GATEWAY_MODE: z.enum(MODES, { message: 'expected proxy or redirect' }).default('proxy'),
  /** `[host]/prefix=pool[:mode]`, comma-separated; see routing/route-table.ts. */
  GATEWAY_ROUTES: z.string().optional(),
  GATEWAY_POLICY: z.enum(POLICIES, { message: `expected one of ${POLICIES.join(', ')}` }).default('least-connections'),
  /** `id:base64secret` pairs, comma-separated, first one signs; required when any route redirects. */
  REDIRECT_KEYS: z.string().optional(),
  /** How long a redirect's token (and the slot reserved for its client) stays valid. */
  REDIRECT_TOKEN_TTL_MS: positiveInt(600_000).default(5_000),
  ...REDIS_ENV,
  /**
   * Deadline of each store call on the request path (the pick, the release). Past it the gateway
   * picks from its local view and the store counts as degraded until a probe answers again.
   */
  STORE_TIMEOUT_MS: positiveInt(10_000).default(50),
  /** While degraded: how often the gateway asks whether the store answers again. */
  STORE_PROBE_INTERVAL_MS: positiveInt(60_000).default(200),
  /** How often the local view of each pool is refreshed from the store (events update it at once). */
  VIEW_REFRESH_MS: positiveInt(60_000).default(1_000),
  UPSTREAM_CONNECT_TIMEOUT_MS: ms.default(1_000),
  /** Time to wait for a backend's response headers (long polls wait here: keep it above their hold time). */
  UPSTREAM_HEADERS_TIMEOUT_MS: ms.default(60_000),
  /** Longest silence between two chunks of a response body (SSE streams must beat faster). */
  UPSTREAM_BODY_TIMEOUT_MS: ms.default(300_000),
  UPSTREAM_KEEPALIVE_TIMEOUT_MS: ms.default(4_000),
  UPSTREAM_CONNECTIONS_PER_BACKEND: positiveInt(100_000).default(1_024),
  /** Extra attempts, on other backends, for idempotent requests without a body that never reached a backend. */
  UPSTREAM_RETRIES: nonNegativeInt(5).default(1),
  /** How long a backend that refused a connection is skipped by this gateway. */
  UPSTREAM_EJECT_MS: ms.default(5_000),
  GATEWAY_MAX_BODY_BYTES: bytes.default(10 * 1024 * 1024),
  GATEWAY_MAX_HEADER_BYTES: positiveInt(1024 * 1024).default(16 * 1024),
  /** Time a client has to send its request headers (slow-loris guard). */
  GATEWAY_CLIENT_HEADERS_TIMEOUT_MS: ms.default(30_000),
  /** Slow-client guards of the admin listener (/health, /metrics): HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS. */
  ...LISTENER_TIMEOUT_ENV,
  /** Concurrent exchanges (requests, SSE streams, long polls, WebSockets) one gateway holds; past it: 503. */
  GATEWAY_MAX_SESSIONS: positiveInt(10_000_000).default(100_000),
  /** A WebSocket with no bytes either way for this long is closed (0: never). */
  GATEWAY_SESSION_IDLE_TIMEOUT_MS: ms.default(300_000),
  GATEWAY_ACCESS_LOG: bool.default(true),
  /** On SIGTERM: how long in-flight requests get to finish before their connections are cut. */
  GATEWAY_DRAIN_TIMEOUT_MS: ms.default(10_000),
  /** A crashed gateway's reservations are given back this long after its last beat. */
  LEASE_TTL_MS: positiveInt(3_600_000).default(15_000),
  LOG_LEVEL: logLevel.default('info'),
  LOG_FORMAT: logFormat.default('auto'),
});

export type GatewayEnvConfig = z.infer<typeof GatewayEnv>;
export type GatewayConfig = GatewayEnvConfig & {
  readonly gatewayId: string;
  /** Undefined: the in-memory store. */
  readonly redis?: RedisConnection;
  readonly routes: readonly Route[];
  /** Present when some route redirects. */
  readonly keyRing?: KeyRing;
};

/** Completes the parsed environment with what is derived once at start; throws ConfigError. */
export function resolveGatewayConfig(env: GatewayEnvConfig): GatewayConfig {
  let routes: Route[];
  try {
    routes = parseRoutes(env.GATEWAY_ROUTES, { pool: env.GATEWAY_POOL, mode: env.GATEWAY_MODE });
  } catch (err) {
    throw new ConfigError(`GATEWAY_ROUTES=${JSON.stringify(env.GATEWAY_ROUTES)}: ${(err as Error).message}`);
  }
  let keyRing: KeyRing | undefined;
  if (routes.some((r) => r.mode === 'redirect')) {
    if (!env.REDIRECT_KEYS) throw new ConfigError('REDIRECT_KEYS=(unset): required when a route is in redirect mode; expected id:base64secret[,id:base64secret]');
    try {
      keyRing = parseKeyRing(env.REDIRECT_KEYS);
    } catch (err) {
      throw new ConfigError(`REDIRECT_KEYS=(hidden): ${(err as Error).message}`);
    }
  }
  return { ...env, gatewayId: env.GATEWAY_ID ?? defaultGatewayId(), routes, keyRing, redis: redisConnectionFrom(env) };
}

function defaultGatewayId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'host';
  return `gw-${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
