import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request, type Agent } from 'undici';
import { type GatewayStatus, MemoryBalancerStore } from '@lb/balancing';
import { call, eventually, sleep, startPlainBackend, startRedis, testAgent, type PlainBackend, type RedisServerHandle } from '@lb/balancing/testing';
import { loadConfig } from '@lb/runtime';
import { bootstrapRegistry, type RunningRegistry } from '../bootstrap';
import { RegistryEnv } from '../config';
import type { DashboardSnapshot } from './dashboard-snapshot';

const TOKEN = randomBytes(24).toString('hex');

jest.setTimeout(30_000);

interface Frame {
  readonly event: string;
  readonly data: unknown;
}

/** A dashboard viewer: reads /dashboard/events as a browser would and keeps every frame. */
class EventStream {
  readonly frames: Frame[] = [];
  ended = false;
  private buffer = '';

  private constructor(private readonly body: NodeJS.ReadableStream & { destroy(): void }) {
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => this.take(chunk));
    body.on('end', () => (this.ended = true));
    body.on('error', () => (this.ended = true));
    body.on('close', () => (this.ended = true));
  }

  static async open(agent: Agent, url: string): Promise<EventStream> {
    const res = await request(url, { dispatcher: agent, headers: { accept: 'text/event-stream' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    return new EventStream(res.body);
  }

  snapshots(): DashboardSnapshot[] {
    return this.frames.filter((f) => f.event === 'snapshot').map((f) => f.data as DashboardSnapshot);
  }

  latest(): DashboardSnapshot | undefined {
    return this.snapshots().at(-1);
  }

  close(): void {
    this.body.destroy();
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) this.frames.push({ event, data: JSON.parse(data) as unknown });
    }
  }
}

/** A gateway's admin port as the dashboard sees it: GET /status, counting how often it is asked. */
async function startFakeGateway(id: string, leases: Record<string, number>): Promise<{ close: () => Promise<void>; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    const status: GatewayStatus = { id, startedAt: Date.now(), store: { state: 'degraded', since: 1 }, inFlight: 3, pools: { default: { leases, served: {} } } };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { close, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

/** An admin port that accepts connections and never answers (a replica that hangs). */
async function startSilentListener(): Promise<{ close: () => Promise<void>; url: string }> {
  const sockets: Socket[] = [];
  const server = createTcpServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    sockets.forEach((s) => s.destroy());
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { close, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * GET /dashboard/events on a real registry (memory store) over real HTTP: what a viewer receives,
 * that any number of viewers share one poller, that a hung gateway does not stall them, and that
 * closing the registry ends every stream instead of waiting on it.
 */
describe('registry dashboard feed', () => {
  const agent = testAgent();
  let store: MemoryBalancerStore;
  let registry: RunningRegistry;
  let backend: PlainBackend;
  let closed: boolean;
  const streams: EventStream[] = [];
  const servers: (() => Promise<void>)[] = [];
  const auth = { authorization: `Bearer ${TOKEN}` };

  const open = async () => {
    const stream = await EventStream.open(agent, `${registry.url}/dashboard/events`);
    streams.push(stream);
    return stream;
  };
  const announce = (id: string, adminUrl: string) => store.announceGateway({ id, adminUrl, pools: ['default'], startedAt: Date.now() }, 60_000);

  beforeEach(async () => {
    closed = false;
    store = new MemoryBalancerStore();
    registry = await bootstrapRegistry(
      loadConfig(RegistryEnv, { REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', REGISTRY_TOKEN: TOKEN, LOG_LEVEL: 'silent' }),
      { store },
    );
    backend = await startPlainBackend('p1');
    const res = await call(agent, `${registry.url}/v1/backends`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'p1', url: backend.url, weight: 2 }),
    });
    expect(res.status).toBe(201);
  });

  afterEach(async () => {
    streams.splice(0).forEach((s) => s.close());
    if (!closed) await registry.close();
    await Promise.all(servers.splice(0).map((close) => close()));
    await backend.close();
    await store.close();
  });

  afterAll(() => agent.close());

  it('sends a snapshot at once, then again, and pushes a drain as it happens', async () => {
    const stream = await open();
    await eventually(() => stream.snapshots().length >= 1, 5_000, 'first snapshot');
    expect(stream.latest()?.pools).toEqual([
      expect.objectContaining({
        pool: 'default',
        eligibleWeight: 2,
        backends: [expect.objectContaining({ id: 'p1', url: backend.url, weight: 2, state: 'active', health: 'up', fairShare: 1, share: null })],
      }),
    ]);
    expect((await call(agent, `${registry.url}/v1/backends/p1/drain`, { method: 'POST', headers: auth })).status).toBe(200);
    await eventually(() => stream.frames.some((f) => f.event === 'membership' && (f.data as { type: string }).type === 'drained'), 5_000, 'drained event');
    expect(stream.frames.find((f) => f.event === 'membership')?.data).toMatchObject({ type: 'drained', pool: 'default', id: 'p1' });
    await eventually(() => stream.latest()?.pools[0].backends[0].state === 'draining', 5_000, 'snapshot shows the drain');
    expect(stream.latest()?.pools[0].backends[0].fairShare).toBe(0);
  });

  it('serves every viewer from one poller: five viewers do not ask a gateway five times as often, and nobody watching asks nothing', async () => {
    const gateway = await startFakeGateway('g1', { p1: 2 });
    servers.push(gateway.close);
    await announce('g1', gateway.url);
    const viewers = await Promise.all(Array.from({ length: 5 }, open));
    await eventually(() => viewers.every((v) => v.snapshots().length >= 4), 15_000, 'four snapshots each');
    const rounds = Math.max(...viewers.map((v) => v.snapshots().length));
    // One /status read per round (plus one round possibly under way), whatever the number of viewers.
    expect(gateway.hits()).toBeLessThanOrEqual(rounds + 1);
    expect(viewers[4].latest()?.gateways).toEqual([
      expect.objectContaining({ id: 'g1', store: { state: 'degraded', since: 1 }, inFlight: 3, leases: { default: { p1: 2 } }, problem: null }),
    ]);
    for (const v of viewers) v.close();
    await sleep(1_500); // the round under way when the last one left may still finish
    const after = gateway.hits();
    await sleep(2_500);
    expect(gateway.hits()).toBe(after);
  });

  it('keeps the snapshots coming while a gateway hangs, and says which one does not answer', async () => {
    const silent = await startSilentListener();
    servers.push(silent.close);
    await announce('g-hung', silent.url);
    const stream = await open();
    await eventually(() => stream.snapshots().length >= 3, 15_000, 'three snapshots');
    expect(stream.latest()?.gateways).toEqual([expect.objectContaining({ id: 'g-hung', store: null, problem: 'no answer in time' })]);
  });

  it('ends every open stream when the registry closes, instead of waiting on them', async () => {
    const viewers = await Promise.all(Array.from({ length: 3 }, open));
    await eventually(() => viewers.every((v) => v.snapshots().length >= 1), 5_000, 'a snapshot each');
    closed = true;
    await registry.close(); // jest's timeout is the bound: a hang fails the test
    await eventually(() => viewers.every((v) => v.ended), 5_000, 'streams ended');
  });

  it('serves the page, its stylesheet and its script without a token, the page locked to its own origin', async () => {
    const page = await call(agent, `${registry.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body.toString()).toContain('<label for="token">');
    for (const [path, type] of [
      ['/dashboard/app.css', 'text/css; charset=utf-8'],
      ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
    ]) {
      const res = await call(agent, `${registry.url}${path}`);
      expect([res.status, res.headers['content-type']]).toEqual([200, type]);
    }
  });
});

/** The same feed on a real redis-server that stops answering (SIGSTOP) and comes back. */
describe('registry dashboard feed on a store that stalls', () => {
  const agent = testAgent();
  let redis: RedisServerHandle;
  let registry: RunningRegistry;

  beforeAll(async () => {
    redis = await startRedis();
    registry = await bootstrapRegistry(
      loadConfig(RegistryEnv, { REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', REGISTRY_TOKEN: TOKEN, LOG_LEVEL: 'silent', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'dash' }),
    );
  });

  afterAll(async () => {
    await registry.close();
    await redis.stop();
    await agent.close();
  });

  it('tells the viewers that the figures are old while the store does not answer, and carries on when it does', async () => {
    const stream = await EventStream.open(agent, `${registry.url}/dashboard/events`);
    try {
      await eventually(() => stream.snapshots().length >= 1, 5_000, 'first snapshot');
      await redis.pause();
      await eventually(() => stream.frames.some((f) => f.event === 'trouble'), 15_000, 'trouble reported');
      await redis.resume();
      const seen = stream.frames.length;
      await eventually(() => stream.frames.slice(seen).some((f) => f.event === 'snapshot'), 15_000, 'snapshots again');
    } finally {
      stream.close();
      await redis.resume();
    }
  });
});
