import type { Health } from '../core/health-state';
import type { Policy } from '../core/policies';
import type { BackendRecord, BackendState, BackendView, Lease, MembershipEvent } from '../core/types';

export interface ReserveOptions {
  /** Backends this request must not go to (e.g. one that just refused a connection). */
  readonly exclude?: readonly string[];
  /** Default: least-connections. */
  readonly policy?: Policy;
  /**
   * Redirect mode: the slot waits under `tokenId` for the client to arrive at the backend (which
   * claims it) and lapses after `ttlMs` if it never does.
   */
  readonly pending?: { readonly tokenId: string; readonly ttlMs: number };
}

export interface RegisterOptions {
  /** Ramp the backend's weight up over this window (0 or absent: full weight at once). */
  readonly slowStartMs?: number;
  /** The health checks' first verdict (absent: up). A backend that is down is not picked. */
  readonly health?: Health;
}

/** The data path: what a gateway does per request. */
export interface LoadStore {
  /**
   * Atomically pick the least-loaded active, healthy backend of `pool` and count one more connection
   * on it, held by `holder` (a gateway id). Undefined when no backend is eligible.
   */
  reserve(pool: string, holder: string, options?: ReserveOptions): Promise<Lease | undefined>;
  /** Ends what reserve() counted (a pending reservation is cancelled). Callers release each lease once (the gateway's LeaseBook sees to it). */
  release(lease: Lease): Promise<void>;
  /**
   * The backend a redirected client reached takes over its pending reservation, reporting its own
   * count (`active`, which includes that client) in the same step. True exactly once per token:
   * false means unknown, lapsed, issued for another backend, or already used (a replay).
   */
  claim(pool: string, backendId: string, tokenId: string, active: number): Promise<boolean>;
  /** A backend's own total; the pick compares max(gateway in-flight, reported). False if unknown. */
  report(pool: string, backendId: string, active: number): Promise<boolean>;
  /**
   * Keeps `holder`'s leases from being reaped for `ttlMs`. False when the store did not know the
   * holder (first beat, its leases were reaped, or the store lost its data): reconcile then.
   */
  beatHolder(pool: string, holder: string, ttlMs: number): Promise<boolean>;
  /**
   * Replaces `holder`'s lease table in `pool` with `held` (backend id -> slots it holds now) and
   * corrects each backend's count by the difference, in one step; also beats the holder. The
   * gateway is the truth for its own leases: this heals slots a lost release left behind, slots
   * a restored or promoted Redis still remembers, and slots taken while the store was away.
   */
  reconcile(pool: string, holder: string, held: ReadonlyMap<string, number>, ttlMs: number): Promise<void>;
}

/**
 * A store in the gateway's own process (the embedded memory store): it answers at once and can
 * neither fail nor be late, so the request path calls it directly, without a promise or a deadline.
 */
export interface ImmediateLoadStore {
  /** reserve(), answered in the same call. */
  reserveNow(pool: string, holder: string, options?: ReserveOptions): Lease | undefined;
  /** release(), done in the same call. */
  releaseNow(lease: Lease): void;
}

export function answersAtOnce<S extends LoadStore>(store: S): store is S & ImmediateLoadStore {
  return typeof (store as Partial<ImmediateLoadStore>).reserveNow === 'function' && typeof (store as Partial<ImmediateLoadStore>).releaseNow === 'function';
}

export interface RegisterResult {
  readonly record: BackendRecord;
  readonly livenessDeadline: number;
}

/** The control plane: membership and liveness, owned by the registry. */
export interface MembershipStore {
  /** Adds or replaces a backend (same id: keeps its counts). */
  register(record: BackendRecord, ttlMs: number, options?: RegisterOptions): Promise<RegisterResult>;
  /** Extends liveness; optionally records the backend's own active count. Undefined if unknown. */
  heartbeat(pool: string, id: string, ttlMs: number, active?: number): Promise<number | undefined>;
  setState(pool: string, id: string, state: BackendState): Promise<BackendRecord | undefined>;
  /** The health checks' verdict: a backend that is down is not picked until it is up again. False if unknown. */
  setHealth(pool: string, id: string, health: Health): Promise<boolean>;
  remove(pool: string, id: string): Promise<boolean>;
  get(pool: string, id: string): Promise<BackendView | undefined>;
  list(pool: string): Promise<BackendView[]>;
  /** How many backends `pool` holds, lapsed or not (what list() would return, without reading them). */
  size(pool: string): Promise<number>;
  /** Pool of a backend id (ids are unique across pools: registering an id in another pool moves it). */
  poolOf(id: string): Promise<string | undefined>;
  /** Pools that were declared or ever had a backend. */
  pools(): Promise<string[]>;
  /** Makes pools known before any backend joins them (gateways check their routes against these). */
  declarePools(pools: readonly string[]): Promise<void>;
  /**
   * Backends whose liveness deadline has passed (oldest first), and how many the pool has. Picks
   * do not skip them: whether a lapse means "down" is the registry's judgement (see
   * core/eviction-plan.ts), which then evicts, or extends the deadline when it could not record beats.
   */
  lapsed(pool: string): Promise<LapsedBackends>;
  /** Removes these backends if their deadline is still lapsed (a beat since saves one); returns those removed. */
  evict(pool: string, ids: readonly string[]): Promise<string[]>;
  /** Gives these backends, if still lapsed, a new deadline `ttlMs` from now; returns how many. */
  extendLiveness(pool: string, ids: readonly string[], ttlMs: number): Promise<number>;
  /** Reaps the leases of holders that stopped beating and expires unclaimed redirect reservations. */
  sweep(pool: string): Promise<SweepResult>;
}

export interface LapsedBackends {
  readonly lapsed: readonly { readonly id: string; readonly deadline: number }[];
  /** Backends in the pool, lapsed or not. */
  readonly size: number;
}

export interface SweepResult {
  readonly reapedHolders: string[];
  /** Pending redirect reservations whose client never came. */
  readonly expiredPending: number;
}

/** A gateway replica as it announces itself, so the control plane can find its admin port. */
export interface GatewayInfo {
  readonly id: string;
  /** Where its admin listener (/health, /metrics, /status) is reached. */
  readonly adminUrl: string;
  readonly pools: readonly string[];
  /** Epoch ms the process started. */
  readonly startedAt: number;
}

/** Gateway replicas, announced by themselves (every LEASE_TTL_MS / 3) and forgotten when they stop. */
export interface GatewayDirectory {
  announceGateway(info: GatewayInfo, ttlMs: number): Promise<void>;
  /** Gateways whose last announcement has not lapsed, by id. */
  gateways(): Promise<GatewayInfo[]>;
}

export type MembershipListener = (event: MembershipEvent) => void;

export interface EventBus {
  publish(event: MembershipEvent): Promise<void>;
  /** Listens to membership events of every pool; resolves once listening. */
  subscribe(listener: MembershipListener): Promise<() => Promise<void>>;
}

/** Everything one store adapter provides; apps depend on the narrow parts they use. */
export interface BalancerStore extends LoadStore, MembershipStore, EventBus, GatewayDirectory {
  readonly kind: 'memory' | 'redis';
  /** Throws when the store cannot be reached (health checks). */
  ping(): Promise<void>;
  /**
   * Called whenever the connection to the store is made again after it was lost (a restart, a
   * failover): what the store holds may be older or emptier than what its clients remember.
   */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}
