import type { BackendRecord } from '@lb/balancing';
import { MemoryBalancerStore } from '@lb/balancing';
import { call, countByBackend, startPlainBackend, testAgent, type PlainBackend } from '@lb/balancing/testing';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { ConfigError, loadConfig } from '@lb/runtime';

const TTL = 60_000;
const env = (routes: string) =>
  resolveGatewayConfig(loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'silent', GATEWAY_ROUTES: routes }));

/** Requests reach the pool their path prefix or Host names. */
describe('route table', () => {
  const agent = testAgent();
  const store = new MemoryBalancerStore();
  let gateway: RunningGateway;
  let backends: PlainBackend[];

  beforeAll(async () => {
    backends = await Promise.all(['api-1', 'static-1', 'web-1'].map((id) => startPlainBackend(id)));
    const pools = ['api', 'static', 'web'];
    await Promise.all(
      backends.map((b, i) => {
        const record: BackendRecord = { id: b.id, pool: pools[i], url: b.url, publicUrl: b.url, weight: 1, state: 'active', registeredAt: 0, metadata: {} };
        return store.register(record, TTL);
      }),
    );
    gateway = await bootstrapGateway(env('static.example.com/=static, /api=api, /=web'), { store });
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all(backends.map((b) => b.close()));
    await agent.close();
  });

  it.each([
    ['/api', 'app.example.com', 'api-1'],
    ['/api/users?x=1', 'app.example.com', 'api-1'],
    ['/apiary', 'app.example.com', 'web-1'],
    ['/', 'app.example.com', 'web-1'],
    ['/api/users', 'static.example.com', 'static-1'],
    ['/logo.png', 'STATIC.example.com:8080', 'static-1'],
  ])('%s with Host %s goes to %s', async (path, host, backend) => {
    const res = await call(agent, `${gateway.trafficUrl}${path}`, { headers: { host } });
    expect(countByBackend([res])).toEqual({ [backend]: 1 });
  });

  it('refuses to start when a route names a pool nobody declared', async () => {
    await expect(bootstrapGateway(env('/api=api, /=nonesuch'), { store })).rejects.toThrow(ConfigError);
    await expect(bootstrapGateway(env('/api=api, /=nonesuch'), { store })).rejects.toThrow(/unknown pool "nonesuch"; known pools: api, static, web/);
  });
});
