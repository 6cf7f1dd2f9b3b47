import { EventEmitter } from 'node:events';
import { selectByPolicy, slowStartFactor } from '../../core/policies';
import { effectiveActive } from '../../core/select-least-loaded';
import type { Health } from '../../core/health-state';
import { isAlive, livenessDeadline } from '../../core/liveness';
import type { BackendRecord, BackendState, BackendView, Candidate, Lease, MembershipEvent } from '../../core/types';
import type {
  BalancerStore,
  ImmediateLoadStore,
  GatewayInfo,
  LapsedBackends,
  MembershipListener,
  RegisterOptions,
  RegisterResult,
  ReserveOptions,
  SweepResult,
} from '../load-store';

interface Entry {
  record: BackendRecord;
  /** This entry as a pick compares it, refreshed in place at each pick (a pick allocates no candidates). */
  readonly candidate: { readonly id: string; active: number; weight: number; draining: boolean };
  /** The last lease handed out on this backend, handed out again while holder and record are the same. */
  lease: Lease | undefined;
  health: Health;
  inflight: number;
  reported: number;
  pending: number;
  deadline: number;
  /** Slow start window (epoch ms); since === until when there is none. */
  since: number;
  until: number;
}

interface PoolState {
  backends: Map<string, Entry>;
  /** holder -> liveness deadline */
  holders: Map<string, number>;
  /** holder -> backend id -> slots held */
  leases: Map<string, Map<string, number>>;
  /** Round-robin turn counter. */
  turn: number;
  /** Redirect token id -> reservation waiting for its client. */
  pending: Map<string, { backendId: string; expiresAt: number }>;
}

export interface MemoryStoreOptions {
  now?: () => number;
  random?: () => number;
}

/**
 * The embedded default: the same semantics as the Redis adapter for one process, with no I/O.
 * Every method is synchronous underneath, so pick-and-count is atomic by construction.
 */
export class MemoryBalancerStore implements BalancerStore, ImmediateLoadStore {
  readonly kind = 'memory' as const;
  private readonly poolStates = new Map<string, PoolState>();
  /** Pools declared or joined by a backend (a gateway beating for a pool does not make it known). */
  private readonly knownPools = new Set<string>();
  private readonly events = new EventEmitter();
  private readonly gatewayDirectory = new Map<string, { info: GatewayInfo; until: number }>();
  private readonly now: () => number;
  private readonly random: () => number;
  /** Reused by every pick (picks never overlap: they run to completion in one call). */
  private readonly candidates: Candidate[] = [];

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.events.setMaxListeners(0);
  }

  async reserve(pool: string, holder: string, options: ReserveOptions = {}): Promise<Lease | undefined> {
    return this.reserveNow(pool, holder, options);
  }

  reserveNow(pool: string, holder: string, options: ReserveOptions = {}): Lease | undefined {
    const state = this.poolStates.get(pool);
    if (!state) return undefined;
    const now = this.now();
    const exclude = options.exclude ?? [];
    const candidates = this.candidates;
    candidates.length = 0;
    for (const entry of state.backends.values()) {
      if (exclude.length > 0 && exclude.includes(entry.record.id)) continue; // a lapsed deadline is the registry's to judge
      const c = entry.candidate;
      c.active = effectiveActive(entry.inflight, entry.reported, entry.pending);
      c.weight = entry.record.weight * slowStartFactor(now, entry.since, entry.until);
      c.draining = entry.record.state === 'draining' || entry.health === 'down';
      candidates.push(c);
    }
    const policy = options.policy ?? 'least-connections';
    const chosen = selectByPolicy(policy, candidates, this.random, policy === 'round-robin' ? state.turn++ : 0);
    candidates.length = 0;
    const entry = chosen && state.backends.get(chosen.id);
    if (!chosen || !entry) return undefined;
    const lease = this.leaseOn(entry, pool, holder);
    if (options.pending) {
      entry.pending += 1;
      state.pending.set(options.pending.tokenId, { backendId: chosen.id, expiresAt: now + options.pending.ttlMs });
      return { ...lease, pendingToken: options.pending.tokenId };
    }
    entry.inflight += 1;
    const held = this.leasesOf(state, holder);
    held.set(chosen.id, (held.get(chosen.id) ?? 0) + 1);
    return lease;
  }

  /** Leases are immutable: the same one serves every pick of one holder on one version of the record. */
  private leaseOn(entry: Entry, pool: string, holder: string): Lease {
    const { record } = entry;
    const last = entry.lease;
    if (last && last.holder === holder && last.url === record.url && last.publicUrl === record.publicUrl) return last;
    entry.lease = { pool, backendId: record.id, url: record.url, publicUrl: record.publicUrl, holder };
    return entry.lease;
  }

  async claim(pool: string, backendId: string, tokenId: string, active: number): Promise<boolean> {
    return this.settlePending(pool, tokenId, { backendId, active });
  }

  /** Exactly once per token: whoever deletes it settles it. */
  private settlePending(pool: string, tokenId: string, claimant?: { backendId: string; active: number }): boolean {
    const state = this.poolStates.get(pool);
    const pending = state?.pending.get(tokenId);
    if (!state || !pending || (claimant && pending.backendId !== claimant.backendId)) return false;
    state.pending.delete(tokenId);
    const entry = state.backends.get(pending.backendId);
    if (entry) {
      entry.pending = Math.max(0, entry.pending - 1);
      if (claimant) entry.reported = claimant.active;
    }
    return true;
  }

  async release(lease: Lease): Promise<void> {
    this.releaseNow(lease);
  }

  releaseNow(lease: Lease): void {
    if (lease.pendingToken) {
      this.settlePending(lease.pool, lease.pendingToken);
      return;
    }
    const state = this.poolStates.get(lease.pool);
    const held = state?.leases.get(lease.holder);
    const count = held?.get(lease.backendId) ?? 0;
    if (!state || !held || count <= 0) return; // reaped already: nothing left to count off
    if (count === 1) held.delete(lease.backendId);
    else held.set(lease.backendId, count - 1);
    const entry = state.backends.get(lease.backendId);
    if (entry) entry.inflight = Math.max(0, entry.inflight - 1);
  }

  async report(pool: string, backendId: string, active: number): Promise<boolean> {
    const entry = this.poolStates.get(pool)?.backends.get(backendId);
    if (!entry) return false;
    entry.reported = active;
    return true;
  }

  async beatHolder(pool: string, holder: string, ttlMs: number): Promise<boolean> {
    const holders = this.poolState(pool).holders;
    const known = holders.has(holder);
    holders.set(holder, livenessDeadline(this.now(), ttlMs));
    return known;
  }

  async reconcile(pool: string, holder: string, held: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    const state = this.poolState(pool);
    const had = state.leases.get(holder) ?? new Map<string, number>();
    const table = new Map<string, number>();
    for (const [id, n] of held) if (n > 0) table.set(id, n);
    for (const id of new Set([...had.keys(), ...table.keys()])) {
      const entry = state.backends.get(id);
      if (entry) entry.inflight = Math.max(0, entry.inflight + (table.get(id) ?? 0) - (had.get(id) ?? 0));
    }
    state.leases.set(holder, table);
    state.holders.set(holder, livenessDeadline(this.now(), ttlMs));
  }

  async register(record: BackendRecord, ttlMs: number, options: RegisterOptions = {}): Promise<RegisterResult> {
    for (const [name, other] of this.poolStates) if (name !== record.pool) other.backends.delete(record.id);
    const state = this.poolState(record.pool);
    this.knownPools.add(record.pool);
    const now = this.now();
    const deadline = livenessDeadline(now, ttlMs);
    const until = now + (options.slowStartMs ?? 0);
    const existing = state.backends.get(record.id);
    const health = options.health ?? 'up';
    if (existing) {
      Object.assign(existing, { record, health, deadline, since: now, until });
    } else {
      state.backends.set(record.id, {
        record,
        candidate: { id: record.id, active: 0, weight: 0, draining: true },
        lease: undefined,
        health,
        inflight: 0,
        reported: 0,
        pending: 0,
        deadline,
        since: now,
        until,
      });
    }
    return { record, livenessDeadline: deadline };
  }

  async heartbeat(pool: string, id: string, ttlMs: number, active?: number): Promise<number | undefined> {
    const entry = this.poolStates.get(pool)?.backends.get(id);
    if (!entry) return undefined;
    entry.deadline = livenessDeadline(this.now(), ttlMs);
    if (active !== undefined) entry.reported = active;
    return entry.deadline;
  }

  async setState(pool: string, id: string, stateName: BackendState): Promise<BackendRecord | undefined> {
    const entry = this.poolStates.get(pool)?.backends.get(id);
    if (!entry) return undefined;
    entry.record = { ...entry.record, state: stateName };
    return entry.record;
  }

  async setHealth(pool: string, id: string, health: Health): Promise<boolean> {
    const entry = this.poolStates.get(pool)?.backends.get(id);
    if (!entry) return false;
    entry.health = health;
    return true;
  }

  async remove(pool: string, id: string): Promise<boolean> {
    return this.poolStates.get(pool)?.backends.delete(id) ?? false;
  }

  async get(pool: string, id: string): Promise<BackendView | undefined> {
    const entry = this.poolStates.get(pool)?.backends.get(id);
    return entry && viewOf(entry);
  }

  async list(pool: string): Promise<BackendView[]> {
    const state = this.poolStates.get(pool);
    if (!state) return [];
    return [...state.backends.values()].map(viewOf).sort((a, b) => a.id.localeCompare(b.id));
  }

  async size(pool: string): Promise<number> {
    return this.poolStates.get(pool)?.backends.size ?? 0;
  }

  async poolOf(id: string): Promise<string | undefined> {
    for (const [name, state] of this.poolStates) if (state.backends.has(id)) return name;
    return undefined;
  }

  async pools(): Promise<string[]> {
    return [...this.knownPools].sort();
  }

  async declarePools(pools: readonly string[]): Promise<void> {
    for (const pool of pools) this.knownPools.add(pool);
  }

  async lapsed(pool: string): Promise<LapsedBackends> {
    const state = this.poolStates.get(pool);
    if (!state) return { lapsed: [], size: 0 };
    const now = this.now();
    const lapsed = [...state.backends.values()]
      .filter((entry) => !isAlive(entry.deadline, now))
      .map((entry) => ({ id: entry.record.id, deadline: entry.deadline }))
      .sort((a, b) => a.deadline - b.deadline);
    return { lapsed, size: state.backends.size };
  }

  async evict(pool: string, ids: readonly string[]): Promise<string[]> {
    const state = this.poolStates.get(pool);
    if (!state) return [];
    const now = this.now();
    return ids.filter((id) => {
      const entry = state.backends.get(id);
      return entry !== undefined && !isAlive(entry.deadline, now) && state.backends.delete(id);
    });
  }

  async extendLiveness(pool: string, ids: readonly string[], ttlMs: number): Promise<number> {
    const state = this.poolStates.get(pool);
    const now = this.now();
    let extended = 0;
    for (const id of ids) {
      const entry = state?.backends.get(id);
      if (!entry || isAlive(entry.deadline, now)) continue;
      entry.deadline = livenessDeadline(now, ttlMs);
      extended++;
    }
    return extended;
  }

  async sweep(pool: string): Promise<SweepResult> {
    const state = this.poolStates.get(pool);
    if (!state) return { reapedHolders: [], expiredPending: 0 };
    const now = this.now();
    const reapedHolders: string[] = [];
    for (const [holder, deadline] of state.holders) {
      if (isAlive(deadline, now)) continue;
      for (const [id, count] of state.leases.get(holder) ?? []) {
        const entry = state.backends.get(id);
        if (entry) entry.inflight = Math.max(0, entry.inflight - count);
      }
      state.leases.delete(holder);
      state.holders.delete(holder);
      reapedHolders.push(holder);
    }
    let expiredPending = 0;
    for (const [tokenId, pending] of state.pending) {
      if (pending.expiresAt >= now) continue;
      this.settlePending(pool, tokenId);
      expiredPending++;
    }
    return { reapedHolders, expiredPending };
  }

  async announceGateway(info: GatewayInfo, ttlMs: number): Promise<void> {
    this.gatewayDirectory.set(info.id, { info, until: this.now() + ttlMs });
  }

  async gateways(): Promise<GatewayInfo[]> {
    const now = this.now();
    for (const [id, { until }] of this.gatewayDirectory) if (until < now) this.gatewayDirectory.delete(id);
    return [...this.gatewayDirectory.values()].map((g) => g.info).sort((a, b) => a.id.localeCompare(b.id));
  }

  async publish(event: MembershipEvent): Promise<void> {
    // Delivered asynchronously, like Redis pub/sub, so listeners never run inside the publisher.
    queueMicrotask(() => this.events.emit('event', event));
  }

  async subscribe(listener: MembershipListener): Promise<() => Promise<void>> {
    this.events.on('event', listener);
    return async () => {
      this.events.off('event', listener);
    };
  }

  async ping(): Promise<void> {}

  /** Nothing to lose: the memory store lives and dies with its process. */
  onReconnect(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }

  private poolState(pool: string): PoolState {
    let state = this.poolStates.get(pool);
    if (!state) {
      state = { backends: new Map(), holders: new Map(), leases: new Map(), turn: 0, pending: new Map() };
      this.poolStates.set(pool, state);
    }
    return state;
  }

  private leasesOf(state: PoolState, holder: string): Map<string, number> {
    let held = state.leases.get(holder);
    if (!held) {
      held = new Map();
      state.leases.set(holder, held);
    }
    return held;
  }
}

function viewOf(entry: Entry): BackendView {
  return {
    ...entry.record,
    inflight: entry.inflight,
    reported: entry.reported,
    pending: entry.pending,
    active: effectiveActive(entry.inflight, entry.reported, entry.pending),
    livenessDeadline: entry.deadline,
    health: entry.health,
  };
}
