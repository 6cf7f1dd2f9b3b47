import { randomBytes, randomUUID } from 'node:crypto';
import { MemoryBalancerStore, type BalancerStore } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { call, countByBackend, eventually, startPlainBackend, testAgent, testRedisUrl, type PlainBackend } from '@lb/balancing/testing';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';

const TOKEN = randomBytes(24).toString('hex');
const LIVENESS_TTL_MS = 600;

/**
 * The whole system as a user runs it: a registry, backend-sims that register and report through
 * their agent, agentless backends that join over the HTTP API, and a gateway, each app on an
 * ephemeral port; once on the embedded memory store, once with every app on its own Redis
 * connection. Only what a user sees is asserted: which backend served, statuses, bodies.
 */
describe.each(['memory', 'redis'] as const)('cluster on the %s store', (kind) => {
  const agent = testAgent();
  let store: BalancerStore | undefined;
  let registry: RunningRegistry;
  let gateway: RunningGateway;
  let sims: RunningBackendSim[] = [];
  const plain: PlainBackend[] = [];
  let prefix: string;

  const redisEnv = () => (kind === 'redis' ? { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix } : {});
  const deps = () => ({ store });

  const startSim = (id: string) =>
    bootstrapBackendSim(
      loadConfig(BackendSimEnv, {
        BACKEND_PORT: '0',
        BACKEND_HOST: '127.0.0.1',
        BACKEND_ID: id,
        REGISTRY_URL: registry.url,
        REGISTRY_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        ...redisEnv(),
      }),
      deps(),
    );

  /** An agentless backend: a bare node:http server that joins and beats through the registry's API. */
  const joinPlain = async (id: string) => {
    const backend = await startPlainBackend(id);
    plain.push(backend);
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const res = await call(agent, `${registry.url}/v1/backends`, { method: 'POST', headers, body: JSON.stringify({ id, url: backend.url }) });
    expect(res.status).toBe(201);
    const beat = setInterval(() => {
      void call(agent, `${registry.url}/v1/backends/${id}/heartbeat`, { method: 'POST', headers, body: '{}' }).catch(() => undefined);
    }, res.json<{ heartbeatIntervalMs: number }>().heartbeatIntervalMs);
    return { backend, stopBeating: () => clearInterval(beat) };
  };

  const get = (path: string) => call(agent, `${gateway.trafficUrl}${path}`);
  const idsInRegistry = async () => (await call(agent, `${registry.url}/v1/backends`)).json<{ backends: { id: string }[] }>().backends.map((b) => b.id);

  beforeEach(async () => {
    prefix = `t-${randomUUID()}`;
    store = kind === 'memory' ? new MemoryBalancerStore() : undefined;
    registry = await bootstrapRegistry(
      loadConfig(RegistryEnv, {
        REGISTRY_PORT: '0',
        REGISTRY_HOST: '127.0.0.1',
        REGISTRY_TOKEN: TOKEN,
        LIVENESS_TTL_MS: String(LIVENESS_TTL_MS),
        SWEEP_INTERVAL_MS: '100',
        LOG_LEVEL: 'silent',
        ...redisEnv(),
      }),
      deps(),
    );
    gateway = await bootstrapGateway(
      resolveGatewayConfig(loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...redisEnv() })),
      deps(),
    );
  });

  afterEach(async () => {
    await gateway.close();
    await Promise.all(sims.map((s) => s.close()));
    sims = [];
    await Promise.all(plain.splice(0).map((b) => b.close()));
    await registry.close();
    await store?.close();
  });

  afterAll(() => agent.close());

  it('serves 30 concurrent slow requests 10/10/10 from three self-registered backends', async () => {
    sims = await Promise.all(['s1', 's2', 's3'].map(startSim));
    await eventually(async () => (await idsInRegistry()).length === 3, 3_000, 'three registered');
    const responses = await Promise.all(Array.from({ length: 30 }, () => get('/work?ms=300')));
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(countByBackend(responses)).toEqual({ s1: 10, s2: 10, s3: 10 });
  });

  it('sends the next 20 requests to the other two when one backend already holds 10 long ones it reported itself', async () => {
    sims = await Promise.all(['s1', 's2', 's3'].map(startSim));
    await eventually(async () => (await idsInRegistry()).length === 3, 3_000, 'three registered');
    // Ten long requests reach s1 without any gateway: only its own report can tell the gateway.
    const busy = sims[0];
    const direct = Array.from({ length: 10 }, () => call(agent, `${busy.url}/work?ms=2000`));
    await eventually(async () => (await call(agent, `${registry.url}/v1/backends/s1`)).json<{ active: number }>().active === 10, 3_000, 's1 reported 10');
    const next = await Promise.all(Array.from({ length: 20 }, () => get('/work?ms=300')));
    expect(countByBackend(next)).toEqual({ s2: 10, s3: 10 });
    await Promise.all(direct);
  });

  it('gives an agentless backend that beats through the HTTP API its exact share', async () => {
    sims = await Promise.all(['s1', 's2'].map(startSim));
    const joined = await joinPlain('plain');
    await eventually(async () => (await idsInRegistry()).length === 3, 3_000, 'three registered');
    const responses = await Promise.all(Array.from({ length: 30 }, () => get('/work?ms=300')));
    expect(countByBackend(responses)).toEqual({ plain: 10, s1: 10, s2: 10 });
    expect(joined.backend.peak()).toBe(10);
    joined.stopBeating();
  });

  it('evicts a backend that stops beating within its deadline, and sends it nothing more', async () => {
    sims = await Promise.all(['s1'].map(startSim));
    const joined = await joinPlain('quiet');
    await eventually(async () => (await idsInRegistry()).length === 2, 3_000, 'two registered');
    joined.stopBeating();
    // Evicted once its 600 ms deadline lapses (the bound leaves room for a slow machine).
    await eventually(async () => !(await idsInRegistry()).includes('quiet'), 3_000, 'quiet evicted');
    const servedBefore = joined.backend.served();
    const responses = await Promise.all(Array.from({ length: 10 }, () => get('/work?ms=10')));
    expect(countByBackend(responses)).toEqual({ s1: 10 });
    expect(joined.backend.served()).toBe(servedBefore);
  });

  it('carries a 1 MiB POST body byte for byte through the gateway to a backend-sim and back', async () => {
    sims = await Promise.all(['s1'].map(startSim));
    await eventually(async () => (await idsInRegistry()).length === 1, 3_000, 'registered');
    const body = randomBytes(1024 * 1024);
    const res = await call(agent, `${gateway.trafficUrl}/echo?q=1`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream', 'x-trace': 'abc' } });
    expect(res.status).toBe(200);
    expect(res.body.equals(body)).toBe(true);
    const seen = JSON.parse(String(res.headers['x-echo-request'])) as { headers: Record<string, string> };
    expect(seen.headers['x-trace']).toBe('abc');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('refuses bad registry input with 400 naming the field', async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const cases: [unknown, string][] = [
      [{ url: 'not a url' }, 'url'],
      [{ url: 'ftp://10.0.0.1' }, 'url'],
      [{ url: 'http://10.0.0.1', weight: 0 }, 'weight'],
      [{ url: 'http://10.0.0.1', weight: 'heavy' }, 'weight'],
      [{ url: 'http://10.0.0.1', colour: 'blue' }, 'colour'],
    ];
    for (const [input, field] of cases) {
      const res = await call(agent, `${registry.url}/v1/backends`, { method: 'POST', headers, body: JSON.stringify(input) });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ status: 400, field });
    }
  });
});
