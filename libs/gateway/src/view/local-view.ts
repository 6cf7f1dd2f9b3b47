import { selectByPolicy, type BackendRecord, type BackendView, type Candidate, type MembershipEvent, type Policy } from '@lb/balancing';

interface Entry {
  record: BackendRecord;
  /** The health checks' verdict: a backend that is down is not picked from the view either. */
  health: 'up' | 'down';
  /** The load the shared view showed at the last snapshot (every gateway's slots and the backend's own count). */
  shared: number;
  /** This gateway's own slots on the backend at that snapshot, so its picks since can be added. */
  ownAtSnapshot: number;
  /** When a snapshot first came without it (the store may have lost it); undefined while listed. */
  missingSince?: number;
}

type ViewCandidate = Candidate & { readonly record: BackendRecord };

/**
 * A gateway's own copy of each pool it routes to: the records, states and weights, and the last
 * shared load it saw. Picks come from here only when the store cannot answer (or has forgotten
 * the pool), so the gateway keeps forwarding through a Redis outage: least connections over the
 * last shared score plus this gateway's own slots taken since. No I/O: MembershipView feeds it
 * from the list at start, the event channel and a periodic refresh.
 *
 * A backend is removed on an eviction or removal event. A snapshot that lacks it only marks it
 * missing: a Redis that restarted empty lists nothing until the agents have registered again,
 * and the backends are still there. After `missingGraceMs` without coming back it goes.
 */
export class LocalView {
  private readonly pools = new Map<string, Map<string, Entry>>();

  constructor(private readonly missingGraceMs: number) {}

  /** True once a snapshot of the pool was taken (its membership is known, even if empty). */
  isKnown(pool: string): boolean {
    return this.pools.has(pool);
  }

  size(pool: string): number {
    return this.pools.get(pool)?.size ?? 0;
  }

  applySnapshot(pool: string, views: readonly BackendView[], own: (id: string) => number, now: number): void {
    let entries = this.pools.get(pool);
    if (!entries) {
      entries = new Map();
      this.pools.set(pool, entries);
    }
    const listed = new Set<string>();
    for (const view of views) {
      listed.add(view.id);
      const { inflight: _i, reported: _r, pending: _p, active, livenessDeadline: _d, health, ...record } = view;
      entries.set(view.id, { record, health, shared: active, ownAtSnapshot: own(view.id) });
    }
    for (const [id, entry] of entries) {
      if (listed.has(id)) continue;
      entry.missingSince ??= now;
      if (now - entry.missingSince > this.missingGraceMs) entries.delete(id);
    }
  }

  /** Applies a membership event; returns the record of a backend that left (to close its connections). */
  applyEvent(event: MembershipEvent): BackendRecord | undefined {
    const entries = this.pools.get(event.pool);
    const entry = entries?.get(event.id);
    if (!entries || !entry) return undefined;
    switch (event.type) {
      case 'drained':
        entry.record = { ...entry.record, state: 'draining' };
        return undefined;
      case 'activated':
        entry.record = { ...entry.record, state: 'active' };
        return undefined;
      case 'unhealthy':
        entry.health = 'down';
        return undefined;
      case 'healthy':
        entry.health = 'up';
        return undefined;
      case 'removed':
      case 'evicted':
        entries.delete(event.id);
        return entry.record;
      default:
        return undefined; // 'registered': the next snapshot brings the record; 'suspect' is the registry's
    }
  }

  /** The policy's choice over the view, minus `exclude`; `own` is this gateway's slots per backend now. */
  pick(pool: string, exclude: readonly string[], policy: Policy, own: (id: string) => number, random: () => number, turn: number): BackendRecord | undefined {
    const entries = this.pools.get(pool);
    if (!entries || entries.size === 0) return undefined;
    const candidates: ViewCandidate[] = [];
    for (const [id, entry] of entries) {
      if (exclude.includes(id)) continue;
      candidates.push({
        id,
        active: Math.max(0, entry.shared + own(id) - entry.ownAtSnapshot),
        weight: entry.record.weight,
        draining: entry.record.state === 'draining' || entry.health === 'down',
        record: entry.record,
      });
    }
    return selectByPolicy(policy, candidates, random, turn)?.record;
  }
}
