import { request as httpRequest, type IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { BackendRecord } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { eventually, testRedisUrl } from '@lb/balancing/testing';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { loadConfig } from '@lb/runtime';
import WebSocket from 'ws';

const POOL = 'default';

/** A GET read as it streams; destroy() drops the connection like a client that gives up. */
function streamingGet(url: string): { response: Promise<IncomingMessage>; destroy(): void } {
  const req = httpRequest(url, { agent: false });
  req.on('error', () => undefined);
  const response = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
  req.end();
  return { response, destroy: () => req.destroy() };
}

function firstChunk(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => res.once('data', (chunk: Buffer) => resolve(chunk.toString())));
}

/**
 * Long-lived sessions through the gateway to backend-sims that report their own counts into Redis:
 * each session is one connection on its backend for its whole life, in the backend's count and in
 * the shared score, and both return to zero when the clients leave.
 */
describe('sessions through the gateway to backend-sims (Redis)', () => {
  let prefix: string;
  let store: RedisBalancerStore;
  let gateway: RunningGateway;
  let sims: RunningBackendSim[];
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    prefix = `t-${randomUUID()}`;
    const redis = { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' };
    store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: prefix });
    sims = [];
    for (const id of ['s1', 's2', 's3']) {
      // Registered straight into the store (no registry in this test); the sim reports its count there.
      const sim = await bootstrapBackendSim(loadConfig(BackendSimEnv, { BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_ID: id, BACKEND_REGISTER: 'false', ...redis }));
      const record: BackendRecord = { id, pool: POOL, url: sim.url, publicUrl: sim.url, weight: 1, state: 'active', registeredAt: Date.now(), metadata: {} };
      await store.register(record, 600_000);
      sims.push(sim);
    }
    gateway = await bootstrapGateway(resolveGatewayConfig(loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', ...redis })));
  });

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await gateway.close();
    await Promise.all(sims.map((s) => s.close()));
    await store.close();
  });

  const allIdle = async () => sims.every((s) => s.active() === 0) && (await store.list(POOL)).every((v) => v.active === 0);

  it('lands 30 WebSockets 10/10/10, counts each on its backend while open, and every count returns to 0', async () => {
    const opened = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<string>((resolve, reject) => {
            const ws = new WebSocket(`${gateway.trafficUrl.replace('http', 'ws')}/ws`);
            sockets.push(ws);
            let backend = '';
            ws.once('upgrade', (res) => (backend = String(res.headers['x-backend-id'])));
            ws.once('open', () => resolve(backend));
            ws.once('error', reject);
          }),
      ),
    );
    const spread: Record<string, number> = {};
    for (const id of opened) spread[id] = (spread[id] ?? 0) + 1;
    expect(spread).toEqual({ s1: 10, s2: 10, s3: 10 });
    expect(sims.map((s) => s.active())).toEqual([10, 10, 10]);
    await eventually(async () => (await store.list(POOL)).every((v) => v.reported === 10 && v.active === 10), 3_000, 'reported 10 each');
    for (const ws of sockets.splice(0)) ws.close(1000, 'done');
    await eventually(allIdle, 3_000, 'all counts back to 0');
  });

  it('streams SSE: the first event arrives while the backend is still sending', async () => {
    const stream = streamingGet(`${gateway.trafficUrl}/sse?events=3&intervalMs=400`);
    const res = await stream.response;
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(await firstChunk(res)).toMatch(/data:/);
    expect(sims.reduce((sum, s) => sum + s.active(), 0)).toBe(1); // the stream is still open on its backend
    await new Promise((resolve) => res.on('end', resolve).resume());
    await eventually(allIdle, 3_000, 'stream counted off');
  });

  it('ends the upstream request on the backend when the SSE client leaves', async () => {
    const stream = streamingGet(`${gateway.trafficUrl}/sse?events=0&intervalMs=100`);
    await firstChunk(await stream.response);
    await eventually(() => sims.some((s) => s.active() === 1), 2_000, 'stream open on a backend');
    stream.destroy();
    await eventually(allIdle, 3_000, 'backend saw the client leave');
  });

  it('counts a long poll for its whole hold', async () => {
    const stream = streamingGet(`${gateway.trafficUrl}/session?holdMs=800`);
    await eventually(() => sims.some((s) => s.active() === 1), 2_000, 'long poll held on a backend');
    const res = await stream.response;
    expect(res.statusCode).toBe(200);
    res.resume();
    await eventually(allIdle, 3_000, 'long poll counted off');
  });
});
