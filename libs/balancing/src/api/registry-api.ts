import { z } from 'zod';
import { NAME_PATTERN, NAME_RULE } from '../core/names';
import { DEFAULT_POOL } from '../core/types';

/**
 * The registry's wire contract (v1), shared by the registry (which validates with it) and the
 * backend agent (which sends it), so the two cannot disagree. Unknown fields are refused.
 */
const httpUrl = z
  .string()
  .max(2048, { message: 'expected at most 2048 characters' })
  .refine((v) => URL.canParse(v), { message: 'expected an absolute URL, e.g. http://10.0.0.5:8101' })
  .refine((v) => !URL.canParse(v) || /^https?:$/.test(new URL(v).protocol), { message: 'expected an http:// or https:// URL' })
  .refine((v) => !URL.canParse(v) || (new URL(v).pathname === '/' && !new URL(v).search && !new URL(v).hash), {
    message: 'expected an origin without path, query or fragment, e.g. http://10.0.0.5:8101',
  })
  .refine((v) => !URL.canParse(v) || (!new URL(v).username && !new URL(v).password), {
    message: 'expected a URL without credentials',
  })
  .transform((v) => new URL(v).origin);

const name = z.string().regex(NAME_PATTERN, { message: `expected ${NAME_RULE}` });

/**
 * Weights are relative capacities (a weight-2 backend takes twice the load of a weight-1 one).
 * 0.01 to 1000 spans five orders of magnitude, more than any real mix of machines; below 0.01 a
 * weight is a typo or an attack (1e-300 made one connection count as 1e300 in the pick's score).
 */
export const MIN_WEIGHT = 0.01;
export const MAX_WEIGHT = 1_000;
export const WEIGHT_RULE = `expected a number from ${MIN_WEIGHT} to ${MAX_WEIGHT}`;
export const BackendWeight = z
  .number({ message: WEIGHT_RULE })
  .min(MIN_WEIGHT, { message: WEIGHT_RULE })
  .max(MAX_WEIGHT, { message: WEIGHT_RULE });
export const MAX_METADATA_ENTRIES = 32;
/** What a registration checks unless it names its own health path. */
export const DEFAULT_HEALTH_PATH = '/health';

export const RegisterBackendRequest = z.strictObject({
  /** Stable id (e.g. the Nomad allocation id); the registry makes one when absent. */
  id: name.optional(),
  pool: name.default(DEFAULT_POOL),
  url: httpUrl,
  /** Where clients reach it in redirect mode; defaults to `url`. */
  publicUrl: httpUrl.optional(),
  weight: BackendWeight.default(1),
  metadata: z
    .record(z.string().max(64), z.string().max(256), { message: 'expected an object of string values' })
    .refine((m) => Object.keys(m).length <= MAX_METADATA_ENTRIES, { message: `expected at most ${MAX_METADATA_ENTRIES} entries` })
    .default({}),
  /** The path the registry's health checks GET on `url` (2xx or 3xx: passed). */
  healthPath: z
    .string()
    .max(256, { message: 'expected a path of at most 256 characters' })
    .regex(/^\/[^\s?#]*$/, { message: 'expected a path starting with "/", without query or fragment, e.g. /health' })
    .default(DEFAULT_HEALTH_PATH),
});
export type RegisterBackendRequest = z.input<typeof RegisterBackendRequest>;
export type RegisterBackendInput = z.output<typeof RegisterBackendRequest>;

export const HeartbeatRequest = z.strictObject({
  /** The backend's own count of active connections; omit when it does not count them. */
  active: z.number({ message: 'expected a non-negative integer' }).int({ message: 'expected a non-negative integer' }).min(0, { message: 'expected a non-negative integer' }).max(10_000_000, { message: 'expected at most 10000000' }).optional(),
});
export type HeartbeatRequest = z.input<typeof HeartbeatRequest>;

export const BackendIdParam = name;
export const PoolQuery = z.strictObject({ pool: name.optional() });

/** What POST /v1/backends and POST /v1/backends/:id/heartbeat answer. */
export interface RegistrationResponse {
  readonly id: string;
  readonly pool: string;
  readonly livenessDeadline: number;
  /** How long one beat keeps the backend alive, and how often the registry advises to beat. */
  readonly livenessTtlMs: number;
  readonly heartbeatIntervalMs: number;
}

export interface HeartbeatResponse {
  readonly id: string;
  readonly livenessDeadline: number;
}

export const REGISTRY_PATHS = {
  backends: '/v1/backends',
  backend: (id: string) => `/v1/backends/${encodeURIComponent(id)}`,
  heartbeat: (id: string) => `/v1/backends/${encodeURIComponent(id)}/heartbeat`,
  drain: (id: string) => `/v1/backends/${encodeURIComponent(id)}/drain`,
  activate: (id: string) => `/v1/backends/${encodeURIComponent(id)}/activate`,
} as const;
