import Redis, { ReplyError, type RedisOptions } from 'ioredis';
import { BalancingError } from '../../core/errors';
import { effectiveActive } from '../../core/select-least-loaded';
import type { Health } from '../../core/health-state';
import type { BackendRecord, BackendState, BackendView, Lease, MembershipEvent } from '../../core/types';
import type {
  BalancerStore,
  GatewayInfo,
  LapsedBackends,
  MembershipListener,
  RegisterOptions,
  RegisterResult,
  ReserveOptions,
  SweepResult,
} from '../load-store';
import { DEFAULT_KEY_PREFIX, globalKeys, poolKeys, type PoolKeys } from './keys';
import { ioredisOptions, type RedisConnection } from './redis-connection';
import { SCRIPTS, type ScriptName } from './lua/scripts';
import { TurnBatcher, type Waiter } from './turn-batcher';

export interface RedisStoreOptions {
  /** Namespace of every key; lets several deployments (or tests) share one Redis. */
  keyPrefix?: string;
  random?: () => number;
  /** Extra ioredis options (tests, TLS). */
  redis?: RedisOptions;
}

/** Bound on the record cache (backends ever picked by this process; cleared when full). */
const MAX_CACHED_RECORDS = 4096;

type ScriptCall = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

/**
 * The shared view: every gateway replica picks from the same sorted set. One script call per
 * operation, so a pick is one round trip (two when the picked backend's record changed since this
 * process last read it); the plain reserves of one event-loop turn share one call, and the
 * releases queued before it ride on that call (see TurnBatcher).
 */
export class RedisBalancerStore implements BalancerStore {
  readonly kind = 'redis' as const;
  private readonly prefix: string;
  private readonly random: () => number;
  private readonly keysByPool = new Map<string, PoolKeys>();
  private readonly subscribers = new Set<Redis>();
  private readonly scripts = new Map<ScriptName, ScriptCall>();
  /** Backend id -> its record as of a version (a pick returns the version, not the record). */
  private readonly pickedRecords = new Map<string, { version: number; record: BackendRecord; lease: Lease | undefined }>();
  /** Pool and holder -> the ids its last reconcile named (the next one clears them if need be). */
  private readonly reconciledIds = new Map<string, string[]>();
  /** Plain reserves of one event-loop turn and the releases queued before them, per pool and holder: one script call. */
  private readonly batcher = new TurnBatcher(
    (pool, holder, waiters, releaseIds) => this.reserveBatch(pool, holder, waiters, releaseIds),
    (pool, holder, ids) => {
      const k = this.keys(pool);
      return this.script('release')(...this.countKeys(k), k.backendPrefix, holder, ...ids);
    },
  );

  private closed: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    options: RedisStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.random = options.random ?? Math.random;
    for (const [name, script] of Object.entries(SCRIPTS) as [ScriptName, (typeof SCRIPTS)[ScriptName]][]) {
      redis.defineCommand(`lb_${name}`, script);
      const call = (redis as unknown as Record<string, ScriptCall>)[`lb_${name}`].bind(redis);
      this.scripts.set(name, (...args) => reachable(call(...args)));
    }
  }

  /** Connects to `connection` (a URL or a Sentinel group); a URL string is a plain connection. */
  static connect(connection: RedisConnection | string, options: RedisStoreOptions = {}): RedisBalancerStore {
    const target: RedisConnection = typeof connection === 'string' ? { url: connection, sentinelName: 'mymaster' } : connection;
    const settings = { ...ioredisOptions(target), ...options.redis };
    const redis = target.sentinels ? new Redis(settings) : new Redis(target.url as string, settings);
    // Connection errors surface through commands and /health; an unhandled 'error' would crash.
    redis.on('error', () => undefined);
    return new RedisBalancerStore(redis, options);
  }

  reserve(pool: string, holder: string, options: ReserveOptions = {}): Promise<Lease | undefined> {
    const plain = (options.policy ?? 'least-connections') === 'least-connections' && !options.pending && !options.exclude?.length;
    return plain ? this.batcher.reserve(pool, holder) : this.reserveAlone(pool, holder, options, 2);
  }

  /** One pick, one script call. A backend removed between the pick and the read of its record: the slot goes back, and the pick is tried again while `attempts` last. */
  private async reserveAlone(pool: string, holder: string, options: ReserveOptions, attempts: number): Promise<Lease | undefined> {
    const k = this.keys(pool);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const reply = (await this.script('reserve')(
        ...this.countKeys(k), k.turn, k.pendingTokens, k.pendingExpiry, k.backendPrefix, holder,
        options.policy ?? 'least-connections', this.random(), this.random(),
        options.pending?.tokenId ?? '', options.pending?.ttlMs ?? 0, ...(options.exclude ?? []),
      )) as [string, number] | null;
      if (!reply) return undefined;
      const [backendId, version] = reply;
      const picked = this.pickedRecords.get(backendId);
      // Nearly every pick: the record is cached at this version, and so is the lease on it.
      const record = picked?.version === Number(version) ? picked.record : await this.readRecord(k, backendId, Number(version));
      if (!record) {
        await this.release({ pool, backendId, url: '', publicUrl: '', holder, ...(options.pending ? { pendingToken: options.pending.tokenId } : {}) });
        continue;
      }
      const lease = this.leaseOn(backendId, record, pool, holder);
      return options.pending ? { ...lease, pendingToken: options.pending.tokenId } : lease;
    }
    return undefined;
  }

  /**
   * The plain reserves of one turn and the releases riding on them (see TurnBatcher): one
   * reserveMany call counts the releases off, then picks every reserve, in order; a lone reserve
   * with nothing to carry goes as a single reserve (the same 5 commands). Settles every waiter;
   * resolves once the call succeeded (so the releases are counted off), before any record is read.
   */
  private async reserveBatch(pool: string, holder: string, waiters: readonly Waiter<Lease | undefined>[], releaseIds: readonly string[]): Promise<void> {
    if (waiters.length === 1 && releaseIds.length === 0) {
      this.reserveAlone(pool, holder, {}, 2).then(waiters[0].resolve, waiters[0].reject);
      return;
    }
    const k = this.keys(pool);
    const randoms = waiters.map(() => this.random());
    const [picks, versionPairs] = (await this.script('reserveMany')(
      ...this.countKeys(k), k.backendPrefix, holder, waiters.length, ...randoms, ...releaseIds,
    )) as [string[], (string | number)[]];
    const versions = new Map<string, number>();
    for (let i = 0; i + 1 < versionPairs.length; i += 2) versions.set(String(versionPairs[i]), Number(versionPairs[i + 1]));
    // Records new to this process: one read per distinct backend, shared by its picks.
    const reads = new Map<string, Promise<BackendRecord | undefined>>();
    waiters.forEach((waiter, i) => {
      const backendId = picks[i];
      if (backendId === undefined) return waiter.resolve(undefined); // nothing pickable
      const version = versions.get(backendId) ?? 0;
      const picked = this.pickedRecords.get(backendId);
      if (picked?.version === version) return waiter.resolve(this.leaseOn(backendId, picked.record, pool, holder));
      let read = reads.get(backendId);
      if (!read) reads.set(backendId, (read = this.readRecord(k, backendId, version)));
      read
        .then(async (record) => {
          if (record) return this.leaseOn(backendId, record, pool, holder);
          // Removed between the pick and the read: give the slot back, pick once more on its own.
          await this.release({ pool, backendId, url: '', publicUrl: '', holder });
          return this.reserveAlone(pool, holder, {}, 1);
        })
        .then(waiter.resolve, waiter.reject);
    });
  }

  /** The record of a picked backend at `version` (its first pick, or its record changed), read and parsed once. Undefined when the backend is gone. */
  private async readRecord(k: PoolKeys, backendId: string, version: number): Promise<BackendRecord | undefined> {
    const json = await reachable(this.redis.hget(k.backends, backendId));
    if (!json) return undefined;
    const record = parseRecord(json);
    // Read after the pick, so at least as new as `version` (a later version is read again when picked).
    if (this.pickedRecords.size >= MAX_CACHED_RECORDS) this.pickedRecords.clear();
    this.pickedRecords.set(backendId, { version, record, lease: undefined });
    return record;
  }

  /** Leases are immutable: one serves every pick by one holder of one version of a record. */
  private leaseOn(backendId: string, record: BackendRecord, pool: string, holder: string): Lease {
    const picked = this.pickedRecords.get(backendId);
    if (picked?.record === record && picked.lease?.holder === holder && picked.lease.pool === pool) return picked.lease;
    const lease: Lease = { pool, backendId, url: record.url, publicUrl: record.publicUrl, holder };
    if (picked?.record === record) picked.lease = lease;
    return lease;
  }

  release(lease: Lease): Promise<void> {
    const k = this.keys(lease.pool);
    if (lease.pendingToken) {
      return this.script('settlePending')(...this.countKeys(k), k.pendingTokens, k.pendingExpiry, k.backendPrefix, lease.pendingToken, '', 'cancel', 0).then(() => undefined);
    }
    return this.batcher.release(lease);
  }

  async claim(pool: string, backendId: string, tokenId: string, active: number): Promise<boolean> {
    const k = this.keys(pool);
    return (await this.script('settlePending')(...this.countKeys(k), k.pendingTokens, k.pendingExpiry, k.backendPrefix, tokenId, backendId, 'claim', active)) === 1;
  }

  async report(pool: string, backendId: string, active: number): Promise<boolean> {
    const k = this.keys(pool);
    return (await this.script('report')(...this.countKeys(k), k.backendPrefix, backendId, active)) === 1;
  }

  async beatHolder(pool: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.script('beatHolder')(this.keys(pool).holders, holder, ttlMs)) === 1;
  }

  async reconcile(pool: string, holder: string, held: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    // Releases still waiting for a pick were counted off `held` already: they must reach Redis
    // before the table they are part of is replaced, or they would count off twice.
    const flushed = this.batcher.flushReleases();
    const k = this.keys(pool);
    const pairs: (string | number)[] = [];
    const ids: string[] = [];
    for (const [id, n] of held) {
      if (n <= 0) continue;
      pairs.push(id, n);
      ids.push(id);
    }
    // Ids this holder named last time and not now: if they are not registered (yet), only this
    // reminder lets the script find and clear the holder's slots on them.
    const memo = `${pool}\u0000${holder}`;
    const named = new Set(ids);
    const before = (this.reconciledIds.get(memo) ?? []).filter((id) => !named.has(id));
    const replaced = this.script('reconcile')(...this.countKeys(k), k.backends, k.holders, k.backendPrefix, holder, ttlMs, ids.length, ...pairs, ...before);
    await Promise.all([flushed.catch(() => undefined), replaced]);
    this.reconciledIds.set(memo, ids);
  }

  async register(record: BackendRecord, ttlMs: number, options: RegisterOptions = {}): Promise<RegisterResult> {
    const k = this.keys(record.pool);
    const g = globalKeys(this.prefix);
    const previousPool = await reachable(this.redis.hget(g.index, record.id));
    if (previousPool && previousPool !== record.pool) await this.remove(previousPool, record.id);
    const deadline = (await this.script('register')(
      ...this.membershipKeys(k), k.holders, k.backendPrefix, record.id, JSON.stringify(record), record.weight, ttlMs, record.state,
      options.slowStartMs ?? 0, options.health ?? 'up',
    )) as number;
    await reachable(Promise.all([this.redis.sadd(g.pools, record.pool), this.redis.hset(g.index, record.id, record.pool)]));
    return { record, livenessDeadline: Number(deadline) };
  }

  async heartbeat(pool: string, id: string, ttlMs: number, active?: number): Promise<number | undefined> {
    const k = this.keys(pool);
    const deadline = Number(
      await this.script('heartbeat')(...this.membershipKeys(k), k.backendPrefix, id, ttlMs, active ?? ''),
    );
    return deadline < 0 ? undefined : deadline;
  }

  async setState(pool: string, id: string, state: BackendState): Promise<BackendRecord | undefined> {
    const k = this.keys(pool);
    const json = await reachable(this.redis.hget(k.backends, id));
    if (!json) return undefined;
    const record: BackendRecord = { ...parseRecord(json), state };
    const ok = await this.script('setState')(...this.membershipKeys(k), k.backendPrefix, id, JSON.stringify(record), state);
    return ok === 1 ? record : undefined;
  }

  async setHealth(pool: string, id: string, health: Health): Promise<boolean> {
    const k = this.keys(pool);
    return (await this.script('setHealth')(...this.membershipKeys(k), k.backendPrefix, id, health)) === 1;
  }

  async remove(pool: string, id: string): Promise<boolean> {
    const k = this.keys(pool);
    const removed = await this.script('remove')(...this.membershipKeys(k), k.backendPrefix, id);
    await reachable(this.redis.hdel(globalKeys(this.prefix).index, id));
    return removed === 1;
  }

  async get(pool: string, id: string): Promise<BackendView | undefined> {
    return (await this.list(pool, id))[0];
  }

  async list(pool: string, only?: string): Promise<BackendView[]> {
    const k = this.keys(pool);
    const rows = (await this.script('view')(k.backends, k.alive, k.health, k.backendPrefix, only ?? '')) as string[][];
    return rows
      .map(([, json, deadline, health, inflightText, reportedText, pendingText]): BackendView => {
        const inflight = Number(inflightText);
        const reported = Number(reportedText);
        const pending = Number(pendingText);
        return {
          ...parseRecord(json),
          inflight,
          reported,
          pending,
          active: effectiveActive(inflight, reported, pending),
          livenessDeadline: Number(deadline),
          health: health === 'down' ? 'down' : 'up',
        };
      })
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async size(pool: string): Promise<number> {
    return reachable(this.redis.hlen(this.keys(pool).backends));
  }

  async poolOf(id: string): Promise<string | undefined> {
    return (await reachable(this.redis.hget(globalKeys(this.prefix).index, id))) ?? undefined;
  }

  async pools(): Promise<string[]> {
    return (await reachable(this.redis.smembers(globalKeys(this.prefix).pools))).sort();
  }

  async declarePools(pools: readonly string[]): Promise<void> {
    if (pools.length > 0) await reachable(this.redis.sadd(globalKeys(this.prefix).pools, ...pools));
  }

  async lapsed(pool: string): Promise<LapsedBackends> {
    const k = this.keys(pool);
    const rows = (await this.script('lapsed')(k.backends, k.alive)) as (string | number)[];
    const lapsed: { id: string; deadline: number }[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) lapsed.push({ id: String(rows[i]), deadline: Number(rows[i + 1]) });
    return { lapsed, size: Number(rows[rows.length - 1]) };
  }

  async evict(pool: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const k = this.keys(pool);
    const evicted = (await this.script('evict')(...this.membershipKeys(k), k.backendPrefix, ...ids)) as string[];
    if (evicted.length > 0) await reachable(this.redis.hdel(globalKeys(this.prefix).index, ...evicted));
    return evicted;
  }

  async extendLiveness(pool: string, ids: readonly string[], ttlMs: number): Promise<number> {
    if (ids.length === 0) return 0;
    return Number(await this.script('extendLiveness')(this.keys(pool).alive, ttlMs, ...ids));
  }

  async sweep(pool: string): Promise<SweepResult> {
    const k = this.keys(pool);
    const lapsedHolders = (await this.script('lapsedHolders')(k.holders)) as string[];
    const reapedHolders: string[] = [];
    for (const holder of lapsedHolders) {
      const reaped = await this.script('reapHolder')(...this.countKeys(k), k.holders, k.backends, k.backendPrefix, holder);
      if (reaped === 1) reapedHolders.push(holder);
    }
    const expiredPending = Number(await this.script('expirePending')(...this.countKeys(k), k.pendingTokens, k.pendingExpiry, k.backendPrefix));
    // An idle backend in slow start is rescored by nobody else: its score keeps up with its ramp here.
    await this.script('rescoreWarming')(...this.countKeys(k), k.backendPrefix);
    return { reapedHolders, expiredPending };
  }

  async announceGateway(info: GatewayInfo, ttlMs: number): Promise<void> {
    const g = globalKeys(this.prefix);
    const now = Date.now();
    // One round trip for the record and its deadline; lapsed ones are dropped by whoever lists them.
    await reachable(
      this.redis
        .multi()
        .hset(g.gateways, info.id, JSON.stringify(info))
        .zadd(g.gatewaysAlive, now + ttlMs, info.id)
        .exec(),
    );
  }

  async gateways(): Promise<GatewayInfo[]> {
    const g = globalKeys(this.prefix);
    const now = Date.now();
    const lapsed = await reachable(this.redis.zrangebyscore(g.gatewaysAlive, '-inf', `(${now}`));
    if (lapsed.length > 0) await reachable(this.redis.multi().zrem(g.gatewaysAlive, ...lapsed).hdel(g.gateways, ...lapsed).exec());
    const live = await reachable(this.redis.zrangebyscore(g.gatewaysAlive, now, '+inf'));
    if (live.length === 0) return [];
    const records = await reachable(this.redis.hmget(g.gateways, ...live));
    return records.flatMap((json) => (json ? [JSON.parse(json) as GatewayInfo] : [])).sort((a, b) => a.id.localeCompare(b.id));
  }

  async publish(event: MembershipEvent): Promise<void> {
    await reachable(this.redis.publish(this.keys(event.pool).events, JSON.stringify(event)));
  }

  async subscribe(listener: MembershipListener): Promise<() => Promise<void>> {
    const subscriber = this.redis.duplicate({ enableAutoPipelining: false });
    subscriber.on('error', () => undefined);
    this.subscribers.add(subscriber);
    subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      try {
        listener(JSON.parse(message) as MembershipEvent);
      } catch {
        // A malformed event is not ours to act on; membership is re-read from Redis anyway.
      }
    });
    try {
      await reachable(subscriber.psubscribe(globalKeys(this.prefix).eventsPattern));
    } catch (err) {
      // Not subscribed: ioredis would not resubscribe it on reconnection, so drop it; the caller retries.
      this.subscribers.delete(subscriber);
      subscriber.disconnect();
      throw err;
    }
    return async () => {
      this.subscribers.delete(subscriber);
      await subscriber.quit().catch(() => subscriber.disconnect());
    };
  }

  async ping(): Promise<void> {
    await reachable(this.redis.ping());
  }

  onReconnect(listener: () => void): () => void {
    // 'ready' fires on every (re)connection; the first one is the start, not a return.
    let connectedBefore = this.redis.status === 'ready';
    const onReady = () => {
      if (connectedBefore) listener();
      connectedBefore = true;
    };
    this.redis.on('ready', onReady);
    return () => this.redis.off('ready', onReady);
  }

  /** Idempotent: a second call waits for the first (a second QUIT on a closed ioredis client keeps the process alive ~2 s). */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    // A reserve still waiting for the end of this turn would take a slot nobody could release.
    this.batcher.rejectReserves(new BalancingError('LB_STORE_UNAVAILABLE', 'the store is closing'));
    await this.batcher.flushReleases(); // the last releases of a draining gateway must reach Redis
    await Promise.all([...this.subscribers].map((s) => s.quit().catch(() => s.disconnect())));
    this.subscribers.clear();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private keys(pool: string): PoolKeys {
    let k = this.keysByPool.get(pool);
    if (!k) {
      k = poolKeys(this.prefix, pool);
      this.keysByPool.set(pool, k);
    }
    return k;
  }

  /** The keys every counting script takes first (see lua/scripts.ts). */
  private countKeys(k: PoolKeys): string[] {
    return [k.load, k.warming];
  }

  private membershipKeys(k: PoolKeys): string[] {
    return [...this.countKeys(k), k.backends, k.alive, k.health];
  }

  private script(name: ScriptName): ScriptCall {
    return this.scripts.get(name) as ScriptCall;
  }
}

/**
 * A command that failed because Redis cannot be reached (connection refused or lost, retries
 * exhausted) becomes LB_STORE_UNAVAILABLE, which the apps answer with 503; an error reply from
 * Redis itself (a script bug) stays what it is.
 */
function reachable<T>(pending: Promise<T>): Promise<T> {
  return pending.catch((err: unknown) => {
    if (err instanceof ReplyError) throw err;
    throw new BalancingError('LB_STORE_UNAVAILABLE', 'Redis cannot be reached', { cause: err });
  });
}

function parseRecord(json: string): BackendRecord {
  try {
    return JSON.parse(json) as BackendRecord;
  } catch (cause) {
    throw new BalancingError('LB_STORE_UNAVAILABLE', 'a backend record in Redis is not valid JSON', { cause });
  }
}
