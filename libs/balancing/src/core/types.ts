/** A backend as the control plane knows it. Plain data: it crosses Redis, HTTP and process boundaries. */
export type BackendState = 'active' | 'draining';

export interface BackendRecord {
  readonly id: string;
  readonly pool: string;
  /** Where gateways send proxied traffic (reachable from the gateways). */
  readonly url: string;
  /** Where clients are redirected in redirect mode (reachable from clients). */
  readonly publicUrl: string;
  /** Relative capacity; load is compared as active / weight. */
  readonly weight: number;
  readonly state: BackendState;
  /** Epoch ms of the (latest) registration. */
  readonly registeredAt: number;
  /** What the registry's health checks GET (absent: /health). */
  readonly healthPath?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A backend record together with what the store knows of its load right now. */
export interface BackendView extends BackendRecord {
  /** Requests and sessions the gateways have reserved on it and not yet released. */
  readonly inflight: number;
  /** The backend's own count of active connections, as last reported (0 when it never reported). */
  readonly reported: number;
  /** Redirect reservations whose client has not arrived yet. */
  readonly pending: number;
  /** The load a pick compares: max(inflight, reported) + pending. */
  readonly active: number;
  /** Epoch ms after which the backend is considered gone unless it beats again. */
  readonly livenessDeadline: number;
  /** The health checks' verdict: only a backend that is up (and active) is picked. */
  readonly health: 'up' | 'down';
}

/** What a pick compares for one backend. */
export type Candidate = Readonly<{ id: string; active: number; weight: number; draining: boolean }>;

/** One reserved slot on a backend, held from the pick until the request or session ends. */
export interface Lease {
  readonly pool: string;
  readonly backendId: string;
  readonly url: string;
  readonly publicUrl: string;
  /** The gateway whose lease table holds this slot, so a crashed gateway's slots can be reaped. */
  readonly holder: string;
  /** Set for a pending reservation (redirect mode): the token id the backend claims it with. */
  readonly pendingToken?: string;
}

/**
 * `unhealthy` / `healthy`: the registry's health checks changed their verdict. `suspect`: a gateway
 * could not connect to the backend; the registry checks it at once.
 */
export type MembershipEventType = 'registered' | 'drained' | 'activated' | 'removed' | 'evicted' | 'unhealthy' | 'healthy' | 'suspect';

export interface MembershipEvent {
  readonly type: MembershipEventType;
  readonly pool: string;
  readonly id: string;
}

export const DEFAULT_POOL = 'default';
