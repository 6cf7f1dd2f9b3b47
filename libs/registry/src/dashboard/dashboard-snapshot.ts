import type { BackendState, BackendView, GatewayInfo, GatewayStatus } from '@lb/balancing';
import type { ServedCounts } from './served-window';

/**
 * What the dashboard shows, built from plain data (the store's listings, the gateways' /status
 * answers and the window's served counts) by pure functions: the poller reads, these decide.
 */
export interface DashboardBackend {
  readonly id: string;
  readonly url: string;
  /** The weight picks use now (a slow start ramps it up). */
  readonly weight: number;
  readonly state: BackendState;
  readonly health: 'up' | 'down';
  /** The load a pick compares and its parts (see BackendView). */
  readonly load: { readonly active: number; readonly slots: number; readonly reported: number; readonly pending: number };
  /** The load bar's segments, which add up to `load.active`. */
  readonly bar: LoadBar;
  /** Exchanges it served through any gateway within the window. */
  readonly recent: number;
  /** Its part of what the pool served within the window (0-1); null when the pool served nothing. */
  readonly share: number | null;
  /** What its part would be if picks followed weight alone (0-1): 0 while it is not picked. */
  readonly fairShare: number;
}

/**
 * A backend's load bar: the gateways' slots, what its own count adds beyond them (the requests no
 * gateway counted: redirected clients that arrived, traffic from elsewhere), and pending redirects.
 * The pick compares max(slots, reported) + pending, which is exactly the sum.
 */
export interface LoadBar {
  readonly slots: number;
  readonly reportedExtra: number;
  readonly pending: number;
}

export interface DashboardPool {
  readonly pool: string;
  readonly backends: readonly DashboardBackend[];
  /** Exchanges the pool served within the window. */
  readonly recent: number;
  /** Weight of the backends picks can choose (active and healthy): the fair shares' denominator. */
  readonly eligibleWeight: number;
}

export interface DashboardGateway {
  readonly id: string;
  readonly adminUrl: string;
  readonly pools: readonly string[];
  readonly startedAt: number;
  /** null when its /status did not answer in time (the other fields are then unknown). */
  readonly store: GatewayStatus['store'] | null;
  readonly inFlight: number | null;
  /** Slots it holds, per pool and backend. */
  readonly leases: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Why its status is missing (a timeout, a refused connection, a bad answer); null when it answered. */
  readonly problem: string | null;
}

export interface DashboardSnapshot {
  /** Epoch ms of the reads. */
  readonly at: number;
  /** How far back `recent` and `share` look. */
  readonly windowMs: number;
  /** The highest load of any backend: bars are drawn against it (at least 1). */
  readonly busiest: number;
  readonly pools: readonly DashboardPool[];
  readonly gateways: readonly DashboardGateway[];
}

/** One gateway's /status read: its answer, or why there is none. */
export interface GatewayReading {
  readonly info: GatewayInfo;
  readonly status?: GatewayStatus;
  readonly problem?: string;
}

export interface SnapshotInput {
  readonly at: number;
  readonly windowMs: number;
  readonly listings: readonly { readonly pool: string; readonly views: readonly BackendView[] }[];
  readonly gateways: readonly GatewayReading[];
  /** Exchanges served within the window, per pool and backend, summed over the gateways. */
  readonly recent: ServedCounts;
}

/** A backend picks can choose: active, healthy and with some weight. */
export function isEligible(view: Pick<BackendView, 'state' | 'health' | 'weight'>): boolean {
  return view.state === 'active' && view.health === 'up' && view.weight > 0;
}

/**
 * Each backend's fair share of a pool's requests: its weight over the total weight of the backends
 * picks can choose (active and healthy), 0 for the others. What a weighted spread would give each;
 * least-connections evens concurrent load, so request shares drift from it when some backends get
 * the long requests (that is balance working, not failing).
 */
export function fairShares(views: readonly Pick<BackendView, 'id' | 'state' | 'health' | 'weight'>[]): Map<string, number> {
  const total = eligibleWeight(views);
  return new Map(views.map((v) => [v.id, total > 0 && isEligible(v) ? v.weight / total : 0]));
}

/** Total weight of the backends picks can choose. */
export function eligibleWeight(views: readonly Pick<BackendView, 'state' | 'health' | 'weight'>[]): number {
  return views.reduce((sum, v) => (isEligible(v) ? sum + v.weight : sum), 0);
}

/** Each backend's part of what its pool served (null for all when the pool served nothing). */
export function recentShares(ids: readonly string[], served: Readonly<Record<string, number>>): Map<string, number | null> {
  const total = ids.reduce((sum, id) => sum + (served[id] ?? 0), 0);
  return new Map(ids.map((id) => [id, total > 0 ? (served[id] ?? 0) / total : null]));
}

export function loadBar(view: Pick<BackendView, 'inflight' | 'reported' | 'pending'>): LoadBar {
  return { slots: view.inflight, reportedExtra: Math.max(0, view.reported - view.inflight), pending: view.pending };
}

export function buildSnapshot(input: SnapshotInput): DashboardSnapshot {
  let busiest = 1;
  const pools = [...input.listings]
    .sort((a, b) => a.pool.localeCompare(b.pool))
    .map(({ pool, views }): DashboardPool => {
      const sorted = [...views].sort((a, b) => a.id.localeCompare(b.id));
      const served = input.recent[pool] ?? {};
      const fair = fairShares(sorted);
      const shares = recentShares(sorted.map((v) => v.id), served);
      const backends = sorted.map((v): DashboardBackend => {
        busiest = Math.max(busiest, v.active);
        return {
          id: v.id,
          url: v.url,
          weight: v.weight,
          state: v.state,
          health: v.health,
          load: { active: v.active, slots: v.inflight, reported: v.reported, pending: v.pending },
          bar: loadBar(v),
          recent: served[v.id] ?? 0,
          share: shares.get(v.id) ?? null,
          fairShare: fair.get(v.id) ?? 0,
        };
      });
      return {
        pool,
        backends,
        recent: backends.reduce((sum, b) => sum + b.recent, 0),
        eligibleWeight: eligibleWeight(sorted),
      };
    });
  const gateways = [...input.gateways].sort((a, b) => a.info.id.localeCompare(b.info.id)).map(gatewayOf);
  return { at: input.at, windowMs: input.windowMs, busiest, pools, gateways };
}

function gatewayOf({ info, status, problem }: GatewayReading): DashboardGateway {
  const leases: Record<string, Record<string, number>> = {};
  for (const [pool, s] of Object.entries(status?.pools ?? {})) leases[pool] = { ...s.leases };
  return {
    id: info.id,
    adminUrl: info.adminUrl,
    pools: info.pools,
    startedAt: info.startedAt,
    store: status ? status.store : null,
    inFlight: status ? status.inFlight : null,
    leases,
    problem: status ? null : (problem ?? 'no answer'),
  };
}
