import { NAME_PATTERN, NAME_RULE } from '@lb/balancing';
import { REDIS_ENV } from '@lb/balancing/redis';
import { bytes, logLevel, ms, port, secret, z } from '@lb/runtime';

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
  /** A registration with full metadata is a few KiB; anything much larger is not a registration. */
  REGISTRY_MAX_BODY_BYTES: atLeast(bytes, 1_024, 'bytes').default(16_384),
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
  LOG_LEVEL: logLevel.default('info'),
});
export type RegistryConfig = z.infer<typeof RegistryEnv>;
