import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { BALANCER_STORE } from '@lb/balancing/nest';
import {
  type BackendRecord,
  type BackendState,
  type BalancerStore,
  DEFAULT_POOL,
  heartbeatIntervalFor,
  type HeartbeatResponse,
  type MembershipEventType,
  type RegisterBackendInput,
  type RegistrationResponse,
} from '@lb/balancing';
import { type Logger, problem, ProblemError } from '@lb/runtime';
import type { RegistryConfig } from '../config';
import { HealthChecker } from '../health-checks/health-checker.service';
import { REGISTRY_CONFIG, REGISTRY_LOGGER } from '../tokens';
import { type BackendApiView, type BackendListResponse, toApiView } from './backend-api-view';

/** Membership operations: each one changes the store, then tells the gateways on the event channel. */
@Injectable()
export class BackendsService implements OnModuleInit {
  private readonly log: Logger;

  constructor(
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    private readonly healthChecks: HealthChecker,
    @Inject(REGISTRY_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: 'BackendsService' });
  }

  async onModuleInit(): Promise<void> {
    await this.store.declarePools(this.config.REGISTRY_POOLS ?? [DEFAULT_POOL]);
  }

  async register(input: RegisterBackendInput): Promise<RegistrationResponse> {
    const allowed = this.config.REGISTRY_POOLS;
    if (allowed && !allowed.includes(input.pool)) {
      throw new ProblemError(
        problem(400, 'invalid-request', `pool "${input.pool}" is not one of this registry's pools`, { field: 'pool', allowed: allowed.join(', ') }),
      );
    }
    const id = input.id ?? `b-${randomBytes(6).toString('hex')}`;
    // Ids are unique across pools: a backend that moves leaves its old pool first (the memory store
    // does not do this itself; the Redis store does, and a second remove there is a no-op).
    const previousPool = await this.store.poolOf(id);
    if (previousPool !== input.pool) await this.assertRoomIn(input.pool);
    if (previousPool !== undefined && previousPool !== input.pool && (await this.store.remove(previousPool, id))) {
      await this.announce('removed', previousPool, id);
    }
    const record: BackendRecord = {
      id,
      pool: input.pool,
      url: input.url,
      publicUrl: input.publicUrl ?? input.url,
      weight: input.weight,
      state: 'active',
      registeredAt: Date.now(),
      metadata: input.metadata,
      healthPath: input.healthPath,
    };
    const ttl = this.config.LIVENESS_TTL_MS;
    // Checked before it is stored: a registration at an address that does not answer is never picked.
    const health = await this.healthChecks.firstVerdict(record.pool, id, record.url, input.healthPath);
    const { livenessDeadline } = await this.store.register(record, ttl, { slowStartMs: this.config.SLOW_START_MS, health });
    this.log.info({ pool: record.pool, backendId: id, url: record.url, weight: record.weight, health }, 'backend registered');
    await this.announce('registered', record.pool, id);
    return { id, pool: record.pool, livenessDeadline, livenessTtlMs: ttl, heartbeatIntervalMs: heartbeatIntervalFor(ttl) };
  }

  async list(pool: string): Promise<BackendListResponse> {
    const now = Date.now();
    return { pool, backends: (await this.store.list(pool)).map((view) => toApiView(view, now)) };
  }

  pools(): Promise<string[]> {
    return this.store.pools();
  }

  async get(id: string): Promise<BackendApiView> {
    const pool = await this.poolOf(id);
    const view = await this.store.get(pool, id);
    if (!view) throw unknownBackend(id);
    return toApiView(view, Date.now());
  }

  async heartbeat(id: string, active: number | undefined): Promise<HeartbeatResponse> {
    const pool = await this.poolOf(id);
    const livenessDeadline = await this.store.heartbeat(pool, id, this.config.LIVENESS_TTL_MS, active);
    if (livenessDeadline === undefined) throw unknownBackend(id); // evicted meanwhile: the agent re-registers
    return { id, livenessDeadline };
  }

  async setState(id: string, state: BackendState): Promise<BackendApiView> {
    const pool = await this.poolOf(id);
    if (!(await this.store.setState(pool, id, state))) throw unknownBackend(id);
    this.log.info({ pool, backendId: id, state }, state === 'draining' ? 'backend draining' : 'backend active');
    await this.announce(state === 'draining' ? 'drained' : 'activated', pool, id);
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const pool = await this.poolOf(id);
    if (!(await this.store.remove(pool, id))) throw unknownBackend(id);
    this.log.info({ pool, backendId: id }, 'backend removed');
    await this.announce('removed', pool, id);
  }

  /**
   * A backend new to `pool` is refused once the pool holds REGISTRY_MAX_BACKENDS_PER_POOL; one that
   * is already there registers again whatever the count (agents do after an eviction). 409: the
   * request is fine and so is the registry (not a 5xx); the pool's state conflicts with it, and it
   * succeeds once a backend leaves (the agent retries with backoff). Counted, then registered, not
   * in one step: new ids registering at the same moment for the last places may each see room, so
   * a pool can exceed the cap by as many as are between their count and their write at once; every
   * later new one is refused again.
   */
  private async assertRoomIn(pool: string): Promise<void> {
    const max = this.config.REGISTRY_MAX_BACKENDS_PER_POOL;
    const size = await this.store.size(pool);
    if (size < max) return;
    throw new ProblemError(
      problem(409, 'pool-full', `pool "${pool}" holds ${size} backends, the most this registry allows (REGISTRY_MAX_BACKENDS_PER_POOL): remove one first`, {
        field: 'pool',
        allowed: `at most ${max} backends per pool`,
      }),
    );
  }

  private async poolOf(id: string): Promise<string> {
    const pool = await this.store.poolOf(id);
    if (pool === undefined) throw unknownBackend(id);
    return pool;
  }

  private announce(type: MembershipEventType, pool: string, id: string): Promise<void> {
    return this.store.publish({ type, pool, id });
  }
}

function unknownBackend(id: string): ProblemError {
  return new ProblemError(problem(404, 'unknown-backend', `no backend with id "${id}" is registered (register it again)`, { id }));
}
