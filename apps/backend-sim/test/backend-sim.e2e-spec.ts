import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { MemoryBalancerStore, type BalancerStore } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { backend, call, eventually, testAgent, testRedisUrl } from '@lb/balancing/testing';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { loadConfig } from '@lb/runtime';

const baseEnv = { BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_REGISTER: 'false', LOG_LEVEL: 'silent' };

function start(env: Record<string, string> = {}, deps: { store?: BalancerStore } = {}): Promise<RunningBackendSim> {
  return bootstrapBackendSim(loadConfig(BackendSimEnv, { ...baseEnv, ...env }), deps);
}

interface Info {
  id: string;
  url: string;
  active: number;
  served: number;
}

/** A GET the test abandons: destroy() drops the connection mid-request, as a client that gives up does. */
function openRequest(url: string): { destroy(): void } {
  const req = httpRequest(url, { agent: false });
  req.on('error', () => undefined); // the abort below
  req.end();
  return { destroy: () => req.destroy() };
}

describe('backend-sim over HTTP', () => {
  let sim: RunningBackendSim;
  let agent: Agent;
  const info = async () => (await call(agent, `${sim.url}/info`)).json<Info>();

  beforeAll(async () => {
    sim = await start();
    agent = testAgent();
  });

  afterAll(async () => {
    await agent.close();
    await sim.close();
  });

  it('advertises the port it really got and names itself in every response, errors included', async () => {
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    const responses = await Promise.all([
      call(agent, `${sim.url}/work?ms=1`),
      call(agent, `${sim.url}/cpu?ms=1`),
      call(agent, `${sim.url}/info`),
      call(agent, `${sim.url}/health`),
      call(agent, `${sim.url}/echo`),
      call(agent, `${sim.url}/echo`, { method: 'PUT', body: 'x' }),
      call(agent, `${sim.url}/work?ms=nope`),
      call(agent, `${sim.url}/no-such-path`),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 400, 404]);
    for (const r of responses) expect(r.headers['x-backend-id']).toBe(sim.id);
    expect(responses[7].headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('answers /work after the work is done', async () => {
    const started = performance.now();
    const res = await call(agent, `${sim.url}/work?ms=200`);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ id: sim.id, kind: 'work', ms: 200, durationMs: 200 });
    expect(elapsed).toBeGreaterThanOrEqual(195); // "at least"; Node timers may fire up to ~1 ms early
  });

  it('burns CPU on /cpu', async () => {
    const res = await call(agent, `${sim.url}/cpu?ms=20`);
    expect(res.json()).toMatchObject({ kind: 'cpu', ms: 20, durationMs: 20 });
    expect(res.json<{ rounds: number }>().rounds).toBeGreaterThan(0);
  });

  it('counts exactly the requests in progress, and not its own /info and /health', async () => {
    const before = await info();
    expect(before.active).toBe(0);
    const slow = [1, 2, 3].map(() => call(agent, `${sim.url}/work?ms=2000`));
    await eventually(async () => (await info()).active === 3, 10_000, '3 active');
    await call(agent, `${sim.url}/health`);
    expect((await info()).active).toBe(3);
    expect(sim.active()).toBe(3);
    await Promise.all(slow);
    const after = await info();
    expect(after.active).toBe(0);
    expect(after.served).toBe(before.served + 3);
  });

  it('counts a request the client aborted off again, without counting it as served', async () => {
    const before = await info();
    const pending = openRequest(`${sim.url}/work?ms=600000`);
    await eventually(async () => (await info()).active === 1, 10_000, '1 active');
    pending.destroy();
    await eventually(async () => (await info()).active === 0, 10_000, '0 active after the abort');
    expect((await info()).served).toBe(before.served);
  });

  it.each([
    ['abc', 'not a number'],
    ['-5', 'negative'],
    ['1.5', 'not an integer'],
    ['600001', 'above BACKEND_MAX_WORK_MS'],
  ])('refuses ms=%s (%s) with a 400 problem naming the field', async (ms) => {
    for (const path of ['work', 'cpu']) {
      const res = await call(agent, `${sim.url}/${path}?ms=${ms}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ status: 400, field: 'ms', allowed: expect.stringContaining('0-600000') });
    }
  });

  it('streams a 1 MiB body back byte for byte, and reports the request it saw', async () => {
    const body = randomBytes(1024 * 1024);
    const res = await call(agent, `${sim.url}/echo?a=1&a=2`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-test', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-test');
    expect(res.body.length).toBe(body.length);
    expect(res.body.equals(body)).toBe(true);
    const seen = JSON.parse(String(res.headers['x-echo-request']));
    expect(seen).toMatchObject({
      method: 'POST',
      path: '/echo',
      url: '/echo?a=1&a=2',
      query: { a: ['1', '2'] },
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example', 'content-length': String(body.length) },
    });
  });

  it('echoes a chunked upload and a JSON body untouched', async () => {
    const parts = [randomBytes(70_000), randomBytes(5), randomBytes(200_000)];
    const chunked = await call(agent, `${sim.url}/echo`, {
      method: 'PUT',
      body: (async function* () {
        for (const p of parts) yield p;
      })() as unknown as Buffer,
    });
    expect(chunked.body.equals(Buffer.concat(parts))).toBe(true);
    const json = '{ "spaced" :  [1,2 ,3] }';
    const res = await call(agent, `${sim.url}/echo`, { method: 'PATCH', body: json, headers: { 'content-type': 'application/json' } });
    expect(res.body.toString()).toBe(json);
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('describes a request without a body in the JSON body', async () => {
    const res = await call(agent, `${sim.url}/echo?q=caf%C3%A9`, { method: 'DELETE', headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(res.json()).toMatchObject({ method: 'DELETE', query: { q: 'café' }, headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(JSON.parse(String(res.headers['x-echo-request']))).toEqual(res.json());
  });

  it('reports healthy without a store', async () => {
    const res = await call(agent, `${sim.url}/health`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
  });
});

describe('backend-sim reporting its load to a store', () => {
  const pool = 'e2e-pool';

  /** Runs 3 slow requests and watches the store's `reported` count for this backend. */
  async function expectReportedLoad(sim: RunningBackendSim, store: BalancerStore): Promise<void> {
    const agent = testAgent();
    try {
      const reported = async () => (await store.get(pool, sim.id))?.reported;
      const slow = [1, 2, 3].map(() => call(agent, `${sim.url}/work?ms=1500`));
      await eventually(async () => (await reported()) === 3, 10_000, 'reported 3');
      await Promise.all(slow);
      await eventually(async () => (await reported()) === 0, 10_000, 'reported 0');
    } finally {
      await agent.close();
    }
  }

  it('pushes its count to Redis (REDIS_URL)', async () => {
    const keyPrefix = `e2e-sim-${randomUUID()}`;
    const store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix });
    const sim = await start({ REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: keyPrefix, BACKEND_ID: 'sim-redis-1', BACKEND_POOL: pool });
    try {
      await store.register(backend(sim.id, { pool, url: sim.url, publicUrl: sim.url }), 60_000);
      await expectReportedLoad(sim, store);
      const health = await fetch(`${sim.url}/health/ready`).then((r) => r.json());
      expect(health).toMatchObject({ status: 'ok', info: { registration: { status: 'up', mode: 'store-only' } } });
    } finally {
      await sim.close();
      await store.close();
    }
  });

  it('pushes its count to a store shared in-process (the standalone default)', async () => {
    const store = new MemoryBalancerStore();
    const sim = await start({ BACKEND_ID: 'sim-memory-1', BACKEND_POOL: pool }, { store });
    try {
      await store.register(backend(sim.id, { pool, url: sim.url, publicUrl: sim.url }), 60_000);
      await expectReportedLoad(sim, store);
    } finally {
      await sim.close();
      await store.close();
    }
  });
});

describe('backend-sim with the agent on', () => {
  const TOKEN = 'e2e-registry-token-0123456789';

  /** A stand-in for the registry's HTTP API (the real one is another app): records what arrives. */
  async function startRecordingRegistry() {
    const seen: { method: string; path: string; auth?: string; body: Record<string, unknown> }[] = [];
    const server: Server = createServer((req: IncomingMessage, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        seen.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, body });
        if (req.method === 'POST' && req.url === '/v1/backends') {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: body.id, pool: body.pool, livenessDeadline: Date.now() + 3_000, livenessTtlMs: 3_000, heartbeatIntervalMs: 100 }));
        } else if (req.method === 'POST') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 'x', livenessDeadline: Date.now() + 3_000 }));
        } else {
          res.writeHead(204);
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  }

  it('registers its real address after listening, beats with its count, deregisters on close', async () => {
    const registry = await startRecordingRegistry();
    const sim = await start({ BACKEND_REGISTER: 'true', REGISTRY_URL: registry.url, REGISTRY_TOKEN: TOKEN, BACKEND_POOL: 'p2', BACKEND_WEIGHT: '2' });
    const agent = testAgent();
    try {
      expect(registry.seen[0]).toMatchObject({
        method: 'POST',
        path: '/v1/backends',
        auth: `Bearer ${TOKEN}`,
        body: { id: sim.id, pool: 'p2', url: sim.url, publicUrl: sim.url, weight: 2 },
      });
      expect(sim.id).toMatch(new RegExp(`-${sim.port}$`));
      const slow = call(agent, `${sim.url}/work?ms=1000`);
      await eventually(() => registry.seen.some((s) => s.path.endsWith('/heartbeat') && s.body.active === 1), 10_000, 'a beat carrying 1');
      await slow;
      expect((await call(agent, `${sim.url}/info`)).json()).toMatchObject({ reporting: 'agent', registration: 'registered' });
    } finally {
      await agent.close();
      await sim.close();
      await registry.close();
    }
    expect(registry.seen.at(-1)).toMatchObject({ method: 'DELETE', path: `/v1/backends/${sim.id}`, auth: `Bearer ${TOKEN}` });
  });

  it('starts even when the registry is unreachable', async () => {
    const sim = await start({ BACKEND_REGISTER: 'true', REGISTRY_URL: 'http://127.0.0.1:9', REGISTRY_TOKEN: TOKEN });
    const agent = testAgent();
    try {
      const res = await call(agent, `${sim.url}/info`);
      expect(res.json()).toMatchObject({ reporting: 'agent', registration: 'registering' });
      expect((await call(agent, `${sim.url}/work?ms=1`)).status).toBe(200);
    } finally {
      await agent.close();
      await sim.close();
    }
  });
});

describe('several simulators in one process', () => {
  it('run side by side with their own ids, ports and counts', async () => {
    const sims = await Promise.all([start(), start(), start()]);
    const agent = testAgent();
    try {
      expect(new Set(sims.map((s) => s.id)).size).toBe(3);
      expect(new Set(sims.map((s) => s.port)).size).toBe(3);
      const slow = call(agent, `${sims[1].url}/work?ms=1000`);
      await eventually(() => sims[1].active() === 1, 10_000, 'one active on the second');
      expect(sims.map((s) => s.active())).toEqual([0, 1, 0]);
      const res = await slow;
      expect(res.headers['x-backend-id']).toBe(sims[1].id);
    } finally {
      await agent.close();
      await Promise.all(sims.map((s) => s.close()));
    }
  });

  it('refuses to start on a port another one holds, and leaves nothing open', async () => {
    const first = await start();
    try {
      await expect(start({ BACKEND_PORT: String(first.port) })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });

  it('simulates a slower machine with BACKEND_SLOWDOWN', async () => {
    const slow = await start({ BACKEND_SLOWDOWN: '2.5' });
    const agent = testAgent();
    try {
      expect((await call(agent, `${slow.url}/work?ms=40`)).json()).toMatchObject({ ms: 40, durationMs: 100, slowdown: 2.5 });
    } finally {
      await agent.close();
      await slow.close();
    }
  });
});
