import { randomBytes } from 'node:crypto';
import type { Agent } from 'undici';
import type { MembershipEvent } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { call, eventually, sleep, startRedis, startSentinelGroup, testAgent, type RedisServerHandle, type SentinelGroup } from '@lb/balancing/testing';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';

/**
 * Redis may fail; the balancer may not. The whole system (a registry, three backend-sims that
 * register and report, two gateways) runs on a real redis-server that each test kills, pauses or
 * restarts, with steady traffic through both gateways during the fault. What a user would notice
 * is asserted: no request fails, no backend is evicted by a stall, and once traffic stops every
 * backend's count comes back to exactly 0 (polled with a generous deadline, never timed).
 */
jest.setTimeout(90_000);

const TOKEN = randomBytes(24).toString('hex');
const PASSWORD = randomBytes(18).toString('hex');
/** Short, so a stall longer than it is quick to stage; beats every third of it. */
const LIVENESS_TTL_MS = 1_000;
const BACKENDS = ['s1', 's2', 's3'];
/** Counts reach 0 long before this; it only bounds a failing test. */
const REST_DEADLINE_MS = 20_000;

interface LoadResult {
  readonly sent: number;
  /** status (or "error: <code>") -> count, for every answer that was not 200. */
  readonly failed: Record<string, number>;
}

/** Open-loop traffic: one `GET /work?ms=20` every `everyMs`, alternating over the gateways, until stopped. */
function steadyLoad(agent: Agent, gateways: readonly RunningGateway[], everyMs = 8): { stop(): Promise<LoadResult> } {
  const inFlight = new Set<Promise<void>>();
  const failed: Record<string, number> = {};
  let sent = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const gateway = gateways[sent % gateways.length];
      sent++;
      const done = call(agent, `${gateway.trafficUrl}/work?ms=20`)
        .then((res) => {
          if (res.status !== 200) failed[res.status] = (failed[res.status] ?? 0) + 1;
        })
        .catch((err: { code?: string }) => {
          const key = `error: ${err.code ?? 'unknown'}`;
          failed[key] = (failed[key] ?? 0) + 1;
        })
        .finally(() => inFlight.delete(done));
      inFlight.add(done);
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      return { sent, failed };
    },
  };
}

interface Cluster {
  readonly registry: RunningRegistry;
  readonly sims: RunningBackendSim[];
  readonly gateways: RunningGateway[];
  /** Membership events seen on the channel (from a client of the test's own). */
  readonly events: MembershipEvent[];
  backends(): Promise<{ id: string; active: number; inflight: number; reported: number; pending: number }[]>;
  close(): Promise<void>;
}

/** Redirect mode: gateways answer 307 with a signed token, backends serve only with one. */
const REDIRECT_ENV = { REDIRECT_KEYS: `k1:${randomBytes(32).toString('base64')}`, GATEWAY_MODE: 'redirect', REQUIRE_GATEWAY_TOKEN: 'true' };

async function startCluster(redisEnv: Record<string, string>, agent: Agent, modeEnv: Record<string, string> = {}): Promise<Cluster> {
  const prefix = `faults-${randomBytes(4).toString('hex')}`;
  const env = { ...redisEnv, ...modeEnv, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' };
  const registry = await bootstrapRegistry(
    loadConfig(RegistryEnv, {
      ...env,
      REGISTRY_PORT: '0',
      REGISTRY_HOST: '127.0.0.1',
      REGISTRY_TOKEN: TOKEN,
      LIVENESS_TTL_MS: String(LIVENESS_TTL_MS),
      SWEEP_INTERVAL_MS: '100',
    }),
  );
  const sims = await Promise.all(
    BACKENDS.map((id) =>
      bootstrapBackendSim(
        loadConfig(BackendSimEnv, { ...env, BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_ID: id, REGISTRY_URL: registry.url, REGISTRY_TOKEN: TOKEN }),
      ),
    ),
  );
  const gateways = await Promise.all(
    [0, 1].map(() =>
      bootstrapGateway(resolveGatewayConfig(loadConfig(GatewayEnv, { ...env, GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LEASE_TTL_MS: '3000' }))),
    ),
  );
  const observer = redisEnv.REDIS_SENTINELS
    ? RedisBalancerStore.connect(
        { sentinels: redisEnv.REDIS_SENTINELS.split(',').map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })), sentinelName: 'mymaster', password: redisEnv.REDIS_PASSWORD },
        { keyPrefix: prefix },
      )
    : RedisBalancerStore.connect({ url: redisEnv.REDIS_URL, password: redisEnv.REDIS_PASSWORD, sentinelName: 'mymaster' }, { keyPrefix: prefix });
  const events: MembershipEvent[] = [];
  const unsubscribe = await observer.subscribe((event) => events.push(event));
  const backends = async () =>
    (await call(agent, `${registry.url}/v1/backends`)).json<{ backends: { id: string; active: number; inflight: number; reported: number; pending: number }[] }>().backends;
  await eventually(async () => (await backends()).length === BACKENDS.length, 10_000, 'three backends registered');
  await eventually(async () => (await Promise.all(gateways.map((g) => call(agent, `${g.adminUrl}/health/ready`)))).every((r) => r.status === 200), 10_000, 'gateways ready');
  return {
    registry,
    sims,
    gateways,
    events,
    backends,
    async close() {
      await unsubscribe().catch(() => undefined);
      await observer.close().catch(() => undefined);
      await Promise.all(gateways.map((g) => g.close()));
      await Promise.all(sims.map((s) => s.close()));
      await registry.close();
    },
  };
}

/** Every backend registered, and every count (gateway slots, own report, pending redirects) exactly 0. */
async function expectExactAtRest(cluster: Cluster): Promise<void> {
  let last: unknown;
  await eventually(
    async () => {
      const views = await cluster.backends().catch(() => []);
      last = views.map((v) => `${v.id}: active ${v.active}, gateway slots ${v.inflight}, reported ${v.reported}, pending ${v.pending}`);
      return views.length === BACKENDS.length && views.every((v) => v.active === 0 && v.inflight === 0 && v.reported === 0 && v.pending === 0);
    },
    REST_DEADLINE_MS,
    'every count exactly 0 at rest',
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`);
  });
  expect(cluster.sims.map((s) => s.active())).toEqual([0, 0, 0]);
}

describe('the system when Redis fails (a real redis-server with a password and an append-only file)', () => {
  const agent = testAgent();
  let redis: RedisServerHandle;
  let cluster: Cluster;

  beforeEach(async () => {
    redis = await startRedis({ appendonly: true, password: PASSWORD });
    cluster = await startCluster({ REDIS_URL: redis.url, REDIS_PASSWORD: PASSWORD }, agent);
  });

  afterEach(async () => {
    await cluster.close();
    await redis.stop();
  });

  afterAll(() => agent.close());

  it('loses no request when Redis is killed and restarted empty, and counts are exact again afterwards', async () => {
    const load = steadyLoad(agent, cluster.gateways);
    await sleep(300);
    await redis.kill();
    await sleep(1_500);
    await redis.restart({ empty: true });
    await sleep(1_500);
    const result = await load.stop();
    expect(result.sent).toBeGreaterThan(200);
    expect(result.failed).toEqual({});
    await expectExactAtRest(cluster);
  });

  it('loses no request and leaks no slot when Redis comes back from its append-only file with slots of requests long gone', async () => {
    const load = steadyLoad(agent, cluster.gateways);
    // Long requests hold slots that the append-only file records; they end while Redis is down,
    // so their releases never reach it, and the restored Redis still counts them.
    const long = Array.from({ length: 6 }, (_, i) => call(agent, `${cluster.gateways[i % 2].trafficUrl}/work?ms=700`));
    await sleep(300);
    await redis.kill();
    await sleep(1_500);
    await redis.restart();
    await sleep(1_500);
    const result = await load.stop();
    expect((await Promise.all(long)).map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(result.failed).toEqual({});
    await expectExactAtRest(cluster);
  });

  it('evicts no backend and loses no request when Redis stalls for longer than the liveness TTL', async () => {
    const load = steadyLoad(agent, cluster.gateways);
    await sleep(300);
    await redis.pause();
    await sleep(LIVENESS_TTL_MS * 2.5);
    await redis.resume();
    await sleep(1_500);
    const result = await load.stop();
    expect(result.failed).toEqual({});
    expect(cluster.events.filter((e) => e.type === 'evicted')).toEqual([]);
    await expectExactAtRest(cluster);
    expect(cluster.events.filter((e) => e.type === 'evicted')).toEqual([]);
  });

  it('reconciles releases that never reached Redis: no slot is left behind by requests that ended while it stalled, then died', async () => {
    const held = Array.from({ length: 8 }, (_, i) => call(agent, `${cluster.gateways[i % 2].trafficUrl}/work?ms=600`));
    await eventually(async () => (await cluster.backends()).reduce((sum, b) => sum + b.inflight, 0) === 8, 5_000, 'eight slots held');
    await redis.pause(); // the requests end now; their releases get no answer
    expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(8).fill(200));
    await redis.kill(); // unread, the releases die with it; the append-only file still holds the eight slots
    await redis.restart();
    await expectExactAtRest(cluster);
  });

  it('keeps every process live while Redis is down: the gateway stays ready (degraded), the registry is not ready', async () => {
    await redis.kill();
    const gateway = cluster.gateways[0];
    await eventually(
      async () => (await call(agent, `${gateway.adminUrl}/health/ready`)).json<{ info?: { store?: { state?: string } } }>().info?.store?.state === 'degraded',
      10_000,
      'the gateway reports the store degraded',
    );
    const ready = await call(agent, `${gateway.adminUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect((await call(agent, `${gateway.adminUrl}/health/live`)).status).toBe(200);
    expect((await call(agent, `${cluster.registry.url}/health/live`)).status).toBe(200);
    expect((await call(agent, `${cluster.registry.url}/health/ready`)).status).toBe(503);
    for (const sim of cluster.sims) {
      expect((await call(agent, `${sim.url}/health/live`)).status).toBe(200);
      expect((await call(agent, `${sim.url}/health/ready`)).status).toBe(200);
    }
    // Traffic still flows, and the gateway's metrics say how.
    expect((await call(agent, `${gateway.trafficUrl}/work?ms=1`)).status).toBe(200);
    const metrics = (await call(agent, `${gateway.adminUrl}/metrics`)).body.toString();
    expect(metrics).toMatch(/^lb_gateway_store_degraded 1$/m);
    expect(metrics).toMatch(/^lb_gateway_local_picks_total\{pool="default",reason="store-unavailable"\} [1-9]/m);
    await redis.restart();
    await eventually(
      async () => (await call(agent, `${gateway.adminUrl}/health/ready`)).json<{ info?: { store?: { state?: string } } }>().info?.store?.state === 'up',
      10_000,
      'the gateway reports the store up again',
    );
  });
});

describe('redirect mode when Redis fails', () => {
  const agent = testAgent();
  let redis: RedisServerHandle;
  let cluster: Cluster;

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
    cluster = await startCluster({ REDIS_URL: redis.url, REDIS_PASSWORD: PASSWORD }, agent, REDIRECT_ENV);
  });

  afterAll(async () => {
    await cluster?.close();
    await redis?.stop();
    await agent.close();
  });

  it('keeps redirecting while Redis is down; each token is still good for one request only', async () => {
    await redis.kill();
    const redirects = await Promise.all(Array.from({ length: 12 }, (_, i) => call(agent, `${cluster.gateways[i % 2].trafficUrl}/work?ms=5&i=${i}`)));
    expect(redirects.map((r) => r.status)).toEqual(Array(12).fill(307));
    const locations = redirects.map((r) => String(r.headers.location));
    expect((await Promise.all(locations.map((l) => call(agent, l)))).map((r) => r.status)).toEqual(Array(12).fill(200));
    const replay = await call(agent, locations[0]);
    expect(replay.status).toBe(403);
    expect(replay.json()).toMatchObject({ reason: 'already-used' });
    await redis.restart();
    await expectExactAtRest(cluster);
  });
});

describe('the system when the Redis master fails over (Sentinel: master, replica, three sentinels)', () => {
  const agent = testAgent();
  let group: SentinelGroup;
  let cluster: Cluster;

  beforeAll(async () => {
    group = await startSentinelGroup({ password: PASSWORD });
    const sentinels = group.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    cluster = await startCluster({ REDIS_SENTINELS: sentinels, REDIS_SENTINEL_NAME: group.masterName, REDIS_PASSWORD: PASSWORD }, agent);
  });

  afterAll(async () => {
    await cluster?.close();
    await group?.stop();
    await agent.close();
  });

  it('loses no request while the master is killed and a replica promoted, and counts are exact afterwards', async () => {
    const load = steadyLoad(agent, cluster.gateways);
    await sleep(300);
    await group.killMaster();
    await group.waitForFailover(30_000);
    await sleep(1_500);
    const result = await load.stop();
    expect(result.sent).toBeGreaterThan(200);
    expect(result.failed).toEqual({});
    expect(cluster.events.filter((e) => e.type === 'evicted')).toEqual([]);
    await expectExactAtRest(cluster);
  });
});
