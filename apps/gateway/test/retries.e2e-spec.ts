import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryBalancerStore } from '@lb/balancing';
import { call, startPlainBackend, testAgent, type PlainBackend } from '@lb/balancing/testing';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { loadConfig } from '@lb/runtime';

/**
 * A backend that drops the connection without answering (what a reused keep-alive connection to a
 * backend that just died looks like): a request that may be replayed goes to another backend, one
 * that may not (a POST with a body) is answered 502.
 */
describe('gateway retries on a backend that drops the connection unanswered', () => {
  const agent = testAgent();
  const store = new MemoryBalancerStore();
  let dropper: Server;
  let good: PlainBackend;
  let gateway: RunningGateway;

  beforeAll(async () => {
    dropper = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const dropperUrl = `http://127.0.0.1:${(dropper.address() as AddressInfo).port}`;
    good = await startPlainBackend('good');
    const base = { pool: 'default', weight: 1, state: 'active' as const, registeredAt: 0, metadata: {} };
    await store.register({ ...base, id: 'dropper', url: dropperUrl, publicUrl: dropperUrl }, 60_000);
    await store.register({ ...base, id: 'good', url: good.url, publicUrl: good.url }, 60_000);
    await store.report('default', 'good', 50); // every first pick goes to the dropper
    gateway = await bootstrapGateway(
      resolveGatewayConfig(loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'silent' })),
      { store },
    );
  });

  afterAll(async () => {
    await gateway.close();
    await good.close();
    dropper.close();
    await store.close();
    await agent.close();
  });

  it('serves a GET from another backend', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(agent, `${gateway.trafficUrl}/work?ms=1`)));
    expect(answers.map((a) => [a.status, a.headers['x-backend-id']])).toEqual(Array(5).fill([200, 'good']));
  });

  it('answers a POST with a body 502, since the dropper may have acted on it', async () => {
    const answer = await call(agent, `${gateway.trafficUrl}/echo`, { method: 'POST', body: 'once only', headers: { 'content-type': 'text/plain' } });
    expect(answer.status).toBe(502);
    expect(answer.json()).toMatchObject({ type: expect.stringContaining('upstream-failed') });
  });
});
