import { randomBytes, randomUUID } from 'node:crypto';
import type { BackendRecord, BalancerStore } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { eventually, nextMessage, openWebSocket as open, startPlainBackend, testRedisUrl, whenClosed as closed, type OpenedWebSocket, type PlainBackend } from '@lb/balancing/testing';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { loadConfig } from '@lb/runtime';
import WebSocket from 'ws';

const POOL = 'default';
const TTL = 60_000;

function record(b: PlainBackend): BackendRecord {
  return { id: b.id, pool: POOL, url: b.url, publicUrl: b.url, weight: 1, state: 'active', registeredAt: Date.now(), metadata: {} };
}

type OpenSocket = OpenedWebSocket;

const tally = (sockets: readonly OpenSocket[]) => {
  const counts: Record<string, number> = {};
  for (const s of sockets) counts[s.backendId] = (counts[s.backendId] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
};

/** WebSocket sessions through two gateway replicas sharing Redis: each session is one slot for its whole life. */
describe('WebSocket sessions through the gateway (Redis, two replicas)', () => {
  let store: BalancerStore;
  let gateways: RunningGateway[];
  let backends: PlainBackend[];
  const sockets: WebSocket[] = [];

  beforeEach(async () => {
    const prefix = `t-${randomUUID()}`;
    store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: prefix });
    backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startPlainBackend(id)));
    for (const b of backends) await store.register(record(b), TTL);
    gateways = await Promise.all(
      [1, 2].map(() =>
        bootstrapGateway(
          resolveGatewayConfig(
            loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'silent', REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix }),
          ),
        ),
      ),
    );
  });

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(backends.map((b) => b.close()));
    await store.close();
  });

  const wsUrl = (g: RunningGateway, path = '/ws') => `${g.trafficUrl.replace('http', 'ws')}${path}`;
  const openMany = async (n: number, via: (i: number) => RunningGateway) => {
    const opened = await Promise.all(Array.from({ length: n }, (_, i) => open(wsUrl(via(i)))));
    sockets.push(...opened.map((o) => o.ws));
    return opened;
  };

  it('lands 15 + 15 sessions opened through two replicas 10/10/10, and refills a backend whose sessions closed', async () => {
    const first = await openMany(30, (i) => gateways[i % 2]);
    expect(tally(first)).toEqual({ b1: 10, b2: 10, b3: 10 });
    const onB2 = first.filter((s) => s.backendId === 'b2').slice(0, 8);
    await Promise.all(onB2.map((s) => { const done = closed(s.ws); s.ws.close(); return done; }));
    await eventually(async () => (await store.get(POOL, 'b2'))?.active === 2, 3_000, 'b2 slots released');
    const next = await openMany(8, (i) => gateways[i % 2]);
    expect(tally(next)).toEqual({ b2: 8 });
  });

  it('passes text and 64 KiB binary frames intact, and close codes both ways', async () => {
    const { ws } = await open(wsUrl(gateways[0]));
    sockets.push(ws);
    const text = nextMessage(ws);
    ws.send('hello, backend');
    expect((await text).data.toString()).toBe('hello, backend');
    const payload = randomBytes(64 * 1024);
    const binary = nextMessage(ws);
    ws.send(payload);
    const echoed = await binary;
    expect(echoed.isBinary).toBe(true);
    expect(Buffer.compare(echoed.data, payload)).toBe(0);

    const byBackend = closed(ws);
    ws.send('close:4001:backend says bye');
    expect(await byBackend).toEqual({ code: 4001, reason: 'backend says bye' });

    const { ws: second } = await open(wsUrl(gateways[1]));
    sockets.push(second);
    const byClient = closed(second);
    second.close(4002, 'client says bye');
    expect((await byClient).code).toBe(4002);
  });

  it('closes the client when the backend goes away, and every count returns to zero', async () => {
    const opened = await openMany(6, (i) => gateways[i % 2]);
    const target = opened[0].backendId;
    const victims = opened.filter((s) => s.backendId === target);
    const ends = victims.map((s) => closed(s.ws));
    await backends.find((b) => b.id === target)!.close();
    expect((await Promise.all(ends)).length).toBe(victims.length);
    for (const s of opened) s.ws.close();
    await eventually(async () => (await store.list(POOL)).every((v) => v.inflight === 0), 3_000, 'all slots released');
    await eventually(() => backends.every((b) => b.active() === 0), 3_000, 'backends idle');
  });

  it('serves an upgrade whose first pick refuses the connection from another backend, on every replica', async () => {
    // A dead backend that every pick prefers: registered with no load, at a port nothing listens on.
    const dead = await startPlainBackend('dead');
    await dead.close();
    await store.register(record(dead), TTL);
    for (const b of backends) await store.report(POOL, b.id, 5);
    const opened = await openMany(4, (i) => gateways[i % 2]);
    expect(opened.every((o) => backends.some((b) => b.id === o.backendId))).toBe(true);
    const echo = nextMessage(opened[0].ws);
    opened[0].ws.send('still there');
    expect((await echo).data.toString()).toBe('still there');
  });

  it('answers 502 problem+json when no backend takes an upgrade, and holds no slot afterwards', async () => {
    for (const b of backends) await b.close();
    const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(gateways[0]));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      });
      ws.once('open', () => reject(new Error('should not open')));
      ws.once('error', () => undefined);
    });
    expect(answer.status).toBe(502);
    expect(answer.type).toContain('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 502, type: expect.stringContaining('upstream-failed') });
    await eventually(async () => (await store.list(POOL)).every((v) => v.inflight === 0), 3_000, 'no slot held');
  });

  it('answers an upgrade with 503 when no backend is left', async () => {
    for (const b of backends) await store.remove(POOL, b.id);
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(gateways[0]));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('should not open')));
      ws.once('error', () => undefined);
    });
    expect(status).toBe(503);
  });
});
