/**
 * Every Redis key and channel name, in one place. All keys of a pool share the hash tag `{pool}`
 * so the Lua scripts, which touch several of them, stay within one hash slot.
 */
export interface PoolKeys {
  /** hash: id -> JSON BackendRecord (written by the control plane; a pick reads it only on a version change) */
  readonly backends: string;
  /**
   * sorted set: id -> (max(inflight, reported) + pending) / weight, divided by the slow start ramp
   * factor while the backend warms up; active, healthy backends only (what a pick reads)
   */
  readonly load: string;
  /** sorted set: id -> liveness deadline (epoch ms, Redis clock) */
  readonly alive: string;
  /** hash: id -> 'up' | 'down', the health checks' verdict (absent: up) */
  readonly health: string;
  /** sorted set: holder (gateway id) -> liveness deadline */
  readonly holders: string;
  /** set: ids in slow start (the registry's sweep rescores them as they ramp up) */
  readonly warming: string;
  /** string: round-robin turn counter */
  readonly turn: string;
  /** hash: redirect token id -> backend id */
  readonly pendingTokens: string;
  /** sorted set: redirect token id -> expiry (epoch ms) */
  readonly pendingExpiry: string;
  /** channel: JSON MembershipEvent */
  readonly events: string;
  /**
   * What backend(id) puts before the id; the scripts get it in ARGV and derive each backend's key
   * from it (same `{pool}` tag, so the same hash slot as the pool's declared keys).
   */
  readonly backendPrefix: string;
  /**
   * hash, one per backend: everything its score depends on, so one HGETALL rescores it.
   * - `w`: weight; `r`: the backend's own reported count; `p`: pending redirect reservations
   * - `s`: "since,until" (Redis clock, ms), only while in slow start
   * - `v`: record version, bumped on every write of the record (a gateway caches records by it)
   * - `h:<holder>`: slots that gateway holds on it (absent at 0); their sum is the backend's inflight
   * A reconcile may create it for a backend that has not registered (yet): then it has no `w`.
   */
  backend(id: string): string;
}

/**
 * The version of this layout, part of every key: a layout change makes new keys, so a gateway or a
 * registry of another version never reads data it would misread. Bump it with any change the
 * scripts of the previous version could not read or would corrupt. Upgrading then starts from an
 * empty store, which the system already recovers from: agents register again on their next beat's
 * 404 and gateways rewrite their lease tables (deploy the registry and the gateways together).
 * Version 2: per-backend hashes (one HGETALL rescores a backend).
 */
export const KEY_LAYOUT_VERSION = 2;

function namespace(prefix: string): string {
  return `${prefix}:v${KEY_LAYOUT_VERSION}`;
}

export function poolKeys(prefix: string, pool: string): PoolKeys {
  const base = `${namespace(prefix)}:{${pool}}:`;
  const backendPrefix = `${base}b:`;
  return {
    backends: `${base}backends`,
    load: `${base}load`,
    alive: `${base}alive`,
    health: `${base}health`,
    holders: `${base}holders`,
    warming: `${base}warming`,
    turn: `${base}turn`,
    pendingTokens: `${base}pending-tokens`,
    pendingExpiry: `${base}pending-expiry`,
    events: `${base}events`,
    backendPrefix,
    backend: (id: string) => `${backendPrefix}${id}`,
  };
}

/** Keys outside any pool, used by the control plane only (never inside a script). */
export function globalKeys(rawPrefix: string): { pools: string; index: string; eventsPattern: string; gateways: string; gatewaysAlive: string } {
  const prefix = namespace(rawPrefix);
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
