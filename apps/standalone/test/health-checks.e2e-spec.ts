import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { freePort, call, eventually, openWebSocket, startPlainBackend, testAgent, testRedisUrl, type PlainBackend } from '@lb/balancing/testing';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';
import type WebSocket from 'ws';

jest.setTimeout(60_000);

const TOKEN = randomBytes(24).toString('hex');
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

interface Listed {
  id: string;
  health: 'up' | 'down';
}

/**
 * Backends that lie: registered, beating, but not answering. The registry's health checks keep
 * them out of every gateway's picks, let one back in once it answers, and take out at once a
 * backend a gateway could not reach. Real processes' worth of parts: a registry and two gateways
 * on a real redis-server, plain node:http backends, real HTTP and WebSocket clients.
 */
describe('active health checks through the registry and two gateways', () => {
  const agent = testAgent();
  let registry: RunningRegistry;
  let gateways: RunningGateway[];
  let healthy: PlainBackend[];
  const beats: NodeJS.Timeout[] = [];
  const extra: Server[] = [];
  const sockets: WebSocket[] = [];

  const start = async (checkIntervalMs: number) => {
    const prefix = `hc-${randomUUID()}`;
    const redis = { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' };
    registry = await bootstrapRegistry(
      loadConfig(RegistryEnv, {
        ...redis,
        REGISTRY_PORT: '0',
        REGISTRY_HOST: '127.0.0.1',
        REGISTRY_TOKEN: TOKEN,
        HEALTH_CHECK_INTERVAL_MS: String(checkIntervalMs),
        HEALTH_CHECK_TIMEOUT_MS: '300',
        HEALTH_CHECK_RISE: '2',
        HEALTH_CHECK_FALL: '2',
      }),
    );
    gateways = await Promise.all(
      [0, 1].map(() => bootstrapGateway(resolveGatewayConfig(loadConfig(GatewayEnv, { ...redis, GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1' })))),
    );
    healthy = await Promise.all(['h1', 'h2', 'h3'].map((id) => startPlainBackend(id)));
    for (const b of healthy) await join(b.id, b.url);
  };

  /** Registers and keeps beating, like an agent that is fine while its service is not. */
  const join = async (id: string, url: string) => {
    const res = await call(agent, `${registry.url}/v1/backends`, { method: 'POST', headers: AUTH, body: JSON.stringify({ id, url }) });
    expect(res.status).toBe(201);
    beats.push(setInterval(() => void call(agent, `${registry.url}/v1/backends/${id}/heartbeat`, { method: 'POST', headers: AUTH, body: '{}' }).catch(() => undefined), 500));
  };

  const listed = async () => (await call(agent, `${registry.url}/v1/backends`)).json<{ backends: Listed[] }>().backends;
  const healthOf = async (id: string) => (await listed()).find((b) => b.id === id)?.health;

  afterEach(async () => {
    for (const beat of beats.splice(0)) clearInterval(beat);
    for (const ws of sockets.splice(0)) ws.terminate();
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(healthy.map((b) => b.close()));
    for (const server of extra.splice(0)) server.close();
    await registry.close();
  });

  afterAll(() => agent.close());

  it('keeps ten dead registrations out of every pick: 300 requests and 30 WebSockets, no failure; one that starts answering is picked again', async () => {
    await start(200);
    const deadPorts = await Promise.all(Array.from({ length: 10 }, () => freePort()));
    for (const [i, port] of deadPorts.entries()) await join(`dead${i}`, `http://127.0.0.1:${port}`);
    const deadIds = deadPorts.map((_, i) => `dead${i}`);
    // Checked before they were stored: down from the start, never picked.
    expect((await listed()).filter((b) => deadIds.includes(b.id)).map((b) => b.health)).toEqual(Array(10).fill('down'));

    const statuses: number[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call(agent, `${gateways[i % 2].trafficUrl}/work?ms=5`)));
      statuses.push(...answers.map((a) => a.status));
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(300);
    const opened = await Promise.all(Array.from({ length: 30 }, (_, i) => openWebSocket(`${gateways[i % 2].trafficUrl.replace('http', 'ws')}/ws`)));
    sockets.push(...opened.map((o) => o.ws));
    expect(opened.every((o) => ['h1', 'h2', 'h3'].includes(o.backendId))).toBe(true);

    // dead3 comes to life on its port: after RISE passed checks it takes picks again.
    const revived = createServer((req, res) => {
      res.setHeader('x-backend-id', 'dead3');
      res.end(req.url === '/health' ? 'ok' : JSON.stringify({ id: 'dead3' }));
    });
    extra.push(revived);
    await new Promise<void>((resolve) => revived.listen(deadPorts[3], '127.0.0.1', resolve));
    await eventually(async () => (await healthOf('dead3')) === 'up', 10_000, 'dead3 healthy again');
    // It holds no session, the others hold 10 each: the next picks are its.
    const next = await call(agent, `${gateways[1].trafficUrl}/work?ms=1`);
    expect(next.headers['x-backend-id']).toBe('dead3');
    expect((await listed()).filter((b) => b.health === 'down').map((b) => b.id).sort()).toEqual(deadIds.filter((id) => id !== 'dead3').sort());
  });

  it('takes a backend one gateway could not reach out of every gateway\u2019s picks at once, without waiting for the periodic checks', async () => {
    await start(60_000); // periodic checks far away: only the registration check and the gateways' word
    const victim = healthy[0];
    await victim.close(); // its agent keeps beating: only its service is gone
    // Gateway 0 finds out the hard way (and retries the GET elsewhere), then tells the registry.
    const first = await Promise.all(Array.from({ length: 6 }, () => call(agent, `${gateways[0].trafficUrl}/work?ms=1`)));
    expect(first.map((r) => r.status)).toEqual(Array(6).fill(200));
    await eventually(async () => (await healthOf(victim.id)) === 'down', 5_000, 'the victim marked unhealthy');
    // Gateway 1 never tried it: it does not pick it, so it never fails on it.
    const second = await Promise.all(Array.from({ length: 30 }, () => call(agent, `${gateways[1].trafficUrl}/work?ms=1`)));
    expect(second.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(second.some((r) => r.headers['x-backend-id'] === victim.id)).toBe(false);
    const metrics = (await call(agent, `${gateways[1].adminUrl}/metrics`)).body.toString();
    expect(metrics).not.toMatch(/lb_gateway_upstream_failures_total\{/);
  });
});
