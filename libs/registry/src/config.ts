import { heartbeatIntervalFor, NAME_PATTERN, NAME_RULE, peakHeartbeatsPerSecond } from '@lb/balancing';
import { REDIS_ENV } from '@lb/balancing/redis';
import { bytes, LISTENER_TIMEOUT_ENV, logFormat, logLevel, ms, port, positiveInt, positiveNumber, secret, z } from '@lb/runtime';

const atLeast = (reader: typeof ms, min: number, unit: string) =>
  reader.refine((n) => n >= min, { message: `expected at least ${min} ${unit}` });

/** The only list of variables the registry reads (see the README's table). */
export const RegistryEnv = z.object({
  REGISTRY_PORT: port.default(8090),
  REGISTRY_HOST: z.string().trim().min(1).default('0.0.0.0'),
  /** Bearer token for every call that changes state; there is no default, so no open control plane by accident. */
  REGISTRY_TOKEN: z
    .string({ message: 'required: the bearer token that clients must send to change membership (at least 16 characters)' })
    .pipe(secret),
  ...REDIS_ENV, // neither REDIS_URL nor REDIS_SENTINELS: in-memory store, one process
  /** How long one heartbeat keeps a backend alive. */
  LIVENESS_TTL_MS: atLeast(ms, 100, 'ms').default(3_000),
  SWEEP_INTERVAL_MS: atLeast(ms, 10, 'ms').default(500),
  /**
   * Share of a pool (0-1) that may be evicted per liveness TTL on a lapse alone; beyond it a
   * backend must also be confirmed down (nothing accepts connections at its address).
   */
  EVICTION_MAX_SHARE: z
    .string()
    .trim()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, { message: 'expected a share between 0 and 1, e.g. 0.5' })
    .transform(Number)
    .default(0.5),
  /** Active health checks (HAProxy's `check inter`): how often every backend is checked; 0 turns them off. */
  HEALTH_CHECK_INTERVAL_MS: ms.default(2_000),
  /** A check with no answer within this long fails. */
  HEALTH_CHECK_TIMEOUT_MS: atLeast(ms, 50, 'ms').default(1_000),
  /** Passed checks in a row that bring a backend that is down back into the picks. */
  HEALTH_CHECK_RISE: positiveInt(10).default(2),
  /** Failed checks in a row that take a backend out of the picks. */
  HEALTH_CHECK_FALL: positiveInt(10).default(3),
  /** A registration with full metadata is a few KiB; anything much larger is not a registration. */
  REGISTRY_MAX_BODY_BYTES: atLeast(bytes, 1_024, 'bytes').default(16_384),
  /** Slow-client guards of the API listener (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS). */
  ...LISTENER_TIMEOUT_ENV,
  /** Ramp a newly registered backend's weight from 10% to 100% over this window (0: off). */
  SLOW_START_MS: ms.default(0),
  /**
   * Comma-separated pools backends may join. Declared at start, so gateways can check their route
   * tables before any backend arrives. Unset: any pool name is accepted.
   */
  REGISTRY_POOLS: z
    .string()
    .transform((v) => [...new Set(v.split(',').map((p) => p.trim()).filter(Boolean))])
    .refine((pools) => pools.length > 0 && pools.every((p) => NAME_PATTERN.test(p)), { message: `expected comma-separated pool names: ${NAME_RULE}` })
    .optional(),
  /**
   * Most backends one pool holds: registering a new id into a full pool is refused (409), an id
   * already there always registers again. Real pools are tens to hundreds of backends; 1000 leaves
   * room for the largest while bounding what a runaway registration loop costs everyone (every
   * gateway keeps each record in its local view, power-of-two and round-robin picks read the whole
   * pool, GET /v1/backends lists it all).
   */
  REGISTRY_MAX_BACKENDS_PER_POOL: positiveInt(100_000).default(1_000),
  /**
   * Heartbeats per second per backend id, with bursts of REGISTRY_HEARTBEAT_BURST (a token bucket).
   * Our agent sends at most 32 a second at the shortest LIVENESS_TTL_MS (beats every TTL / 3, count
   * reports 100 ms apart), 13 at the default; 50 leaves room for agents written elsewhere.
   */
  REGISTRY_HEARTBEATS_PER_S: positiveNumber.default(50),
  REGISTRY_HEARTBEAT_BURST: positiveInt(100_000).default(100),
  /** Registrations per second per backend id: an agent registers at start, after an eviction and with backoff after a refusal. */
  REGISTRY_REGISTRATIONS_PER_S: positiveNumber.default(1),
  REGISTRY_REGISTRATION_BURST: positiveInt(100_000).default(5),
  /** Registrations without an id per second per client address (a host starting many id-less backends at once gets the burst). */
  REGISTRY_ANONYMOUS_REGISTRATIONS_PER_S: positiveNumber.default(2),
  REGISTRY_ANONYMOUS_REGISTRATION_BURST: positiveInt(100_000).default(20),
  LOG_LEVEL: logLevel.default('info'),
  LOG_FORMAT: logFormat.default('auto'),
}).superRefine((env, ctx) => {
  // A heartbeat limit below what our own agent sends at its rhythm would refuse backends that behave.
  const interval = heartbeatIntervalFor(env.LIVENESS_TTL_MS);
  const needed = peakHeartbeatsPerSecond(interval);
  for (const name of ['REGISTRY_HEARTBEATS_PER_S', 'REGISTRY_HEARTBEAT_BURST'] as const) {
    if (env[name] < needed) {
      const why = `agents beat every ${interval} ms (LIVENESS_TTL_MS / 3) and report their count up to 10 times a second`;
      ctx.addIssue({ code: 'custom', path: [name], message: `expected at least ${needed}: ${why}` });
    }
  }
});
export type RegistryConfig = z.infer<typeof RegistryEnv>;
