import { randomBytes, randomUUID } from 'node:crypto';
import { call, countByBackend, eventually, startPlainBackend, testAgent, testRedisUrl, type PlainBackend } from '@lb/balancing/testing';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';
import WebSocket from 'ws';

const TOKEN = randomBytes(24).toString('hex');
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

/**
 * One view of load across gateway replicas: two gateways and a registry on one Redis, agentless
 * backends that join through the registry's API. What is asserted is where requests and sessions
 * land, as a user would count them.
 */
describe('shared view across gateway replicas (Redis)', () => {
  const agent = testAgent(1024);
  let prefix: string;
  let registry: RunningRegistry;
  let gateways: RunningGateway[] = [];
  let backends: PlainBackend[] = [];
  const sockets: WebSocket[] = [];

  const start = async (registryEnv: Record<string, string> = {}) => {
    prefix = `t-${randomUUID()}`;
    const redis = { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' };
    registry = await bootstrapRegistry(
      loadConfig(RegistryEnv, { REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', REGISTRY_TOKEN: TOKEN, LIVENESS_TTL_MS: '60000', ...redis, ...registryEnv }),
    );
    gateways = await Promise.all(
      [1, 2].map(() => bootstrapGateway(resolveGatewayConfig(loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', ...redis })))),
    );
  };

  const join = async (id: string, weight = 1) => {
    const backend = await startPlainBackend(id);
    backends.push(backend);
    const res = await call(agent, `${registry.url}/v1/backends`, { method: 'POST', headers: AUTH, body: JSON.stringify({ id, url: backend.url, weight }) });
    expect(res.status).toBe(201);
    return backend;
  };

  /** Requests alternate over the two replicas, so any herding between them would show. */
  const burst = (n: number, path: string) => Promise.all(Array.from({ length: n }, (_, i) => call(agent, `${gateways[i % 2].trafficUrl}${path}`)));

  const openSessions = async (n: number): Promise<string[]> => {
    const opened = await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<string>((resolve, reject) => {
            const ws = new WebSocket(`${gateways[i % 2].trafficUrl.replace('http', 'ws')}/session`);
            sockets.push(ws);
            let backend = '';
            ws.once('upgrade', (res) => (backend = String(res.headers['x-backend-id'])));
            ws.once('open', () => resolve(backend));
            ws.once('error', reject);
          }),
      ),
    );
    return opened;
  };
  const tally = (ids: string[]) => countByBackend(ids.map((id) => ({ status: 101, headers: { 'x-backend-id': id }, body: Buffer.alloc(0), json: <T>() => ({}) as T })));

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await Promise.all(gateways.map((g) => g.close()));
    await registry.close();
    await Promise.all(backends.splice(0).map((b) => b.close()));
    gateways = [];
  });

  afterAll(() => agent.close());

  it('ends 200 concurrent slow requests split over two replicas 50/50/50/50 on four backends', async () => {
    await start();
    for (const id of ['b1', 'b2', 'b3', 'b4']) await join(id);
    const responses = await burst(200, '/work?ms=1500');
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(countByBackend(responses)).toEqual({ b1: 50, b2: 50, b3: 50, b4: 50 });
    expect(backends.map((b) => b.peak())).toEqual([50, 50, 50, 50]);
  });

  it('gives a weight-2 backend twice the concurrent requests of a weight-1 backend', async () => {
    await start();
    await join('heavy', 2);
    await join('light', 1);
    const responses = await burst(30, '/work?ms=1000');
    expect(countByBackend(responses)).toEqual({ heavy: 20, light: 10 });
  });

  it('sends nothing new to a drained backend through either replica, and lets its requests finish', async () => {
    await start();
    await join('b1');
    await join('b2');
    const inFlight = burst(10, '/work?ms=1500');
    await eventually(() => backends.every((b) => b.active() === 5), 3_000, 'five on each');
    expect((await call(agent, `${registry.url}/v1/backends/b1/drain`, { method: 'POST', headers: AUTH })).status).toBe(200);
    const after = await burst(10, '/work?ms=10');
    expect(countByBackend(after)).toEqual({ b2: 10 });
    const finished = await inFlight;
    expect(finished.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(countByBackend(finished)).toEqual({ b1: 5, b2: 5 });
  });

  it.each([
    ['off', 0],
    ['on', 2_000],
  ])('slow start %s: a backend joining three busy ones takes the next 20 sessions accordingly', async (mode, slowStartMs) => {
    await start({ SLOW_START_MS: String(slowStartMs) });
    for (const id of ['b1', 'b2', 'b3']) await join(id);
    await new Promise((r) => setTimeout(r, slowStartMs)); // the first three are past their own ramp
    expect(tally(await openSessions(60))).toEqual({ b1: 20, b2: 20, b3: 20 });
    await join('new');
    const next = tally(await openSessions(20));
    if (mode === 'off') {
      expect(next).toEqual({ new: 20 }); // every one of them: a new allocation is flooded at once
    } else {
      expect(next.new).toBeGreaterThanOrEqual(1); // traffic from the first second...
      expect(next.new).toBeLessThanOrEqual(8); // ...but not the whole burst
      // Once the window has passed, new sessions even the load out.
      await new Promise((r) => setTimeout(r, slowStartMs));
      await openSessions(80); // 160 sessions in all: 40 each when even
      const load = backends.map((b) => b.active());
      expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(1);
    }
  });
});
