/**
 * Every Redis key and channel name, in one place. All keys of a pool share the hash tag `{pool}`
 * so the Lua scripts, which touch several of them, also run on Redis Cluster.
 */
export interface PoolKeys {
  /** hash: id -> JSON BackendRecord */
  readonly backends: string;
  /** sorted set: id -> max(inflight, reported) / weight, active backends only (what a pick reads) */
  readonly load: string;
  /** hash: id -> slots reserved by gateways and not yet released */
  readonly inflight: string;
  /** hash: id -> the backend's own active count */
  readonly reported: string;
  /** hash: id -> weight */
  readonly weight: string;
  /** sorted set: id -> liveness deadline (epoch ms, Redis clock) */
  readonly alive: string;
  /** hash: id -> 'up' | 'down', the health checks' verdict (absent: up) */
  readonly health: string;
  /** sorted set: holder (gateway id) -> liveness deadline */
  readonly holders: string;
  /** hash: id -> "since,until" (Redis clock, ms) of a backend in slow start */
  readonly warmup: string;
  /** string: round-robin turn counter */
  readonly turn: string;
  /** hash: id -> redirect reservations waiting for their client */
  readonly pendingCount: string;
  /** hash: redirect token id -> backend id */
  readonly pendingTokens: string;
  /** sorted set: redirect token id -> expiry (epoch ms) */
  readonly pendingExpiry: string;
  /** channel: JSON MembershipEvent */
  readonly events: string;
  /** hash: id -> slots that `holder` holds */
  leases(holder: string): string;
}

export function poolKeys(prefix: string, pool: string): PoolKeys {
  const base = `${prefix}:{${pool}}:`;
  return {
    backends: `${base}backends`,
    load: `${base}load`,
    inflight: `${base}inflight`,
    reported: `${base}reported`,
    weight: `${base}weight`,
    alive: `${base}alive`,
    health: `${base}health`,
    holders: `${base}holders`,
    warmup: `${base}warmup`,
    turn: `${base}turn`,
    pendingCount: `${base}pending`,
    pendingTokens: `${base}pending-tokens`,
    pendingExpiry: `${base}pending-expiry`,
    events: `${base}events`,
    leases: (holder: string) => `${base}leases:${holder}`,
  };
}

/** Keys outside any pool, used by the control plane only (never inside a script). */
export function globalKeys(prefix: string): { pools: string; index: string; eventsPattern: string; gateways: string; gatewaysAlive: string } {
  return {
    /** hash: gateway id -> JSON GatewayInfo */
    gateways: `${prefix}:gateways`,
    /** sorted set: gateway id -> deadline of its last announcement (epoch ms, gateway clock) */
    gatewaysAlive: `${prefix}:gateways-alive`,
    /** set of pool names */
    pools: `${prefix}:pools`,
    /** hash: backend id -> pool */
    index: `${prefix}:index`,
    /** pattern matching every pool's events channel */
    eventsPattern: `${prefix}:{*}:events`,
  };
}

export const DEFAULT_KEY_PREFIX = 'lb';
