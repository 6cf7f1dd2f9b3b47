import { randomBytes, randomUUID } from 'node:crypto';
import type { Agent } from 'undici';
import WebSocket from 'ws';
import { MemoryBalancerStore, type BalancerStore } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { backend, call, eventually, testAgent, testRedisUrl, type SimpleResponse } from '@lb/balancing/testing';
import { parseKeyRing, signToken, withToken, type KeyRing } from '@lb/balancing/token';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { loadConfig } from '@lb/runtime';

const POOL = 'redirect-e2e';
const GATEWAY = 'gw-e2e';
const KEYS = `new:${randomBytes(32).toString('base64')},old:${randomBytes(32).toString('base64')}`;
const ring = parseKeyRing(KEYS);
const baseEnv = { BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_REGISTER: 'false', LOG_LEVEL: 'silent', BACKEND_POOL: POOL };

interface Info {
  active: number;
  served: number;
}

/**
 * What a gateway in redirect mode does: reserve a pending slot under a fresh token id, sign a token
 * for the backend it picked, and hand the client the URL with the token.
 */
async function redirectUrl(store: BalancerStore, sim: RunningBackendSim, pathAndQuery: string, options: { method?: string; signWith?: KeyRing; expiresInMs?: number; backendId?: string } = {}): Promise<string> {
  const tokenId = randomUUID();
  const lease = await store.reserve(POOL, GATEWAY, { pending: { tokenId, ttlMs: 30_000 } });
  expect(lease?.backendId).toBe(sim.id);
  const token = signToken(options.signWith ?? ring, {
    method: options.method ?? 'GET',
    pathAndQuery,
    backendId: options.backendId ?? sim.id,
    expiresAt: Date.now() + (options.expiresInMs ?? 30_000),
    tokenId,
  });
  return `${sim.url}${withToken(pathAndQuery, token)}`;
}

function expectRefusal(res: SimpleResponse, reason: string): void {
  expect(res.status).toBe(403);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status: 403, reason, field: 'lb_token' });
}

describe.each(['memory', 'redis'] as const)('REQUIRE_GATEWAY_TOKEN on the %s store', (kind) => {
  let store: BalancerStore;
  let sim: RunningBackendSim;
  let agent: Agent;
  const info = async () => (await call(agent, `${sim.url}/info`)).json<Info>();
  const view = async () => (await store.get(POOL, sim.id))!;

  beforeAll(async () => {
    const env = { ...baseEnv, REQUIRE_GATEWAY_TOKEN: 'true', REDIRECT_KEYS: KEYS, BACKEND_ID: `sim-token-${kind}` };
    if (kind === 'memory') {
      store = new MemoryBalancerStore();
      sim = await bootstrapBackendSim(loadConfig(BackendSimEnv, env), { store }); // the standalone process's shared store
    } else {
      const prefix = `e2e-token-${randomUUID()}`;
      store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: prefix });
      sim = await bootstrapBackendSim(loadConfig(BackendSimEnv, { ...env, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix }));
    }
    await store.register(backend(sim.id, { pool: POOL, url: sim.url, publicUrl: sim.url }), 60_000);
    agent = testAgent();
  });

  afterAll(async () => {
    await agent.close();
    await sim.close();
    await store.close();
  });

  it('serves a redirected request once, and the handler never sees the token', async () => {
    const url = await redirectUrl(store, sim, '/echo?a=1&b=caf%C3%A9');
    const res = await call(agent, url);
    expect(res.status).toBe(200);
    expect(res.headers['x-backend-id']).toBe(sim.id);
    expect(res.json()).toMatchObject({ url: '/echo?a=1&b=caf%C3%A9', query: { a: '1', b: 'café' } });
    expectRefusal(await call(agent, url), 'already-used');
    await eventually(async () => (await view()).active === 0 && (await info()).active === 0, 5_000, 'nothing left counted');
  });

  it('moves a redirected client from pending to reported without counting it twice', async () => {
    const url = await redirectUrl(store, sim, '/work?ms=400');
    expect(await view()).toMatchObject({ pending: 1, reported: 0, active: 1 });
    const samples: number[] = [];
    const pending = call(agent, url);
    await eventually(async () => {
      const v = await view();
      samples.push(v.active);
      return v.pending === 0 && v.reported === 1;
    }, 5_000, 'claimed and reported');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'work', ms: 400 });
    expect(Math.max(...samples)).toBe(1);
    await eventually(async () => (await view()).active === 0, 5_000, 'reported 0 after');
  });

  it('claims concurrent arrivals with counts that include every one of them', async () => {
    const urls = await Promise.all([1, 2, 3, 4].map((i) => redirectUrl(store, sim, `/work?ms=500&i=${i}`)));
    expect((await view()).pending).toBe(4);
    const all = urls.map((u) => call(agent, u));
    await eventually(async () => {
      const v = await view();
      return v.pending === 0 && v.reported === 4;
    }, 5_000, 'all four claimed and reported');
    expect((await Promise.all(all)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    await eventually(async () => (await view()).active === 0, 5_000, 'reported 0 after');
  });

  it('checks WebSocket upgrades too', async () => {
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/ws`);
      ws.once('open', () => reject(new Error('should not open')));
      ws.once('error', () => undefined);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(refused).toBe(403);
    const url = await redirectUrl(store, sim, '/ws?tickMs=10');
    const ws = new WebSocket(url.replace('http', 'ws'));
    const tick = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(data.toString())); // the token was stripped before tickMs was read
      ws.once('error', reject);
    });
    expect(tick).toBe('tick 1');
    expect((await view()).reported).toBe(1);
    ws.terminate();
    await eventually(async () => (await view()).active === 0, 5_000, 'reported 0 after the session');
  });
});

describe('REQUIRE_GATEWAY_TOKEN refusals', () => {
  let store: MemoryBalancerStore;
  let sim: RunningBackendSim;
  let agent: Agent;
  const info = async () => (await call(agent, `${sim.url}/info`)).json<Info>();

  beforeAll(async () => {
    store = new MemoryBalancerStore();
    sim = await bootstrapBackendSim(loadConfig(BackendSimEnv, { ...baseEnv, REQUIRE_GATEWAY_TOKEN: 'true', REDIRECT_KEYS: KEYS, BACKEND_ID: 'sim-refusals' }), { store });
    await store.register(backend(sim.id, { pool: POOL, url: sim.url, publicUrl: sim.url }), 60_000);
    agent = testAgent();
  });

  afterAll(async () => {
    await agent.close();
    await sim.close();
    await store.close();
  });

  it('refuses every bad token with 403 and the reason, and counts none of them', async () => {
    const before = await info();
    const good = await redirectUrl(store, sim, '/work?ms=1');
    const otherRing = parseKeyRing(`other:${randomBytes(32).toString('base64')}`);
    const cases: [string, string, { method?: string }?][] = [
      [`${sim.url}/work?ms=1`, 'missing'],
      [`${sim.url}/no-such-path`, 'missing'],
      [`${sim.url}/work?ms=1&lb_token=garbage`, 'malformed'],
      [await redirectUrl(store, sim, '/work?ms=1', { signWith: otherRing }), 'unknown-key'],
      [good.replace(/~([^~]+)$/, '~AAAA'), 'bad-signature'],
      [await redirectUrl(store, sim, '/work?ms=1', { expiresInMs: -5_000 }), 'expired'],
      [await redirectUrl(store, sim, '/work?ms=1', { backendId: 'someone-else' }), 'wrong-backend'],
      [good, 'wrong-method', { method: 'DELETE' }],
      [good.replace('ms=1', 'ms=2'), 'wrong-path'],
      [good.replace('/work?', '/cpu?'), 'wrong-path'],
    ];
    for (const [url, reason, options] of cases) {
      const res = await call(agent, url, options);
      expectRefusal(res, reason);
      expect(res.headers['x-backend-id']).toBe(sim.id);
    }
    expect((await call(agent, good)).status).toBe(200); // none of the above used it up
    const after = await info();
    expect(after.active).toBe(0);
    expect(after.served).toBe(before.served + 1);
  });

  it('serves /health and /info without a token', async () => {
    expect((await call(agent, `${sim.url}/health`)).status).toBe(200);
    expect((await call(agent, `${sim.url}/info`)).json()).toMatchObject({ requireGatewayToken: true });
  });

  it('serves a token whose pending slot the store does not know (a gateway that decided while its store was away), once', async () => {
    const token = signToken(ring, { method: 'GET', pathAndQuery: '/work?ms=1', backendId: sim.id, expiresAt: Date.now() + 30_000, tokenId: randomUUID() });
    const url = `${sim.url}${withToken('/work?ms=1', token)}`;
    expect((await call(agent, url)).status).toBe(200);
    expectRefusal(await call(agent, url), 'already-used');
    expect(sim.active()).toBe(0);
  });
});

describe('REQUIRE_GATEWAY_TOKEN edge cases', () => {
  it('serves when the store cannot be reached, and still refuses a replay', async () => {
    const store = RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: `e2e-token-down-${randomUUID()}` });
    const sim = await bootstrapBackendSim(loadConfig(BackendSimEnv, { ...baseEnv, REQUIRE_GATEWAY_TOKEN: 'true', REDIRECT_KEYS: KEYS, BACKEND_ID: 'sim-store-down' }), { store });
    const agent = testAgent();
    try {
      await store.close(); // every claim now fails
      const token = signToken(ring, { method: 'GET', pathAndQuery: '/work?ms=1', backendId: sim.id, expiresAt: Date.now() + 30_000, tokenId: randomUUID() });
      const res = await call(agent, `${sim.url}${withToken('/work?ms=1', token)}`);
      expect(res.status).toBe(200);
      expectRefusal(await call(agent, `${sim.url}${withToken('/work?ms=1', token)}`), 'already-used');
      expect(sim.active()).toBe(0);
    } finally {
      await agent.close();
      await sim.close();
    }
  });

  it('checks signatures and refuses replays without any store', async () => {
    const sim = await bootstrapBackendSim(loadConfig(BackendSimEnv, { ...baseEnv, REQUIRE_GATEWAY_TOKEN: 'true', REDIRECT_KEYS: KEYS, BACKEND_ID: 'sim-no-store' }));
    const agent = testAgent();
    try {
      const token = signToken(ring, { method: 'GET', pathAndQuery: '/work?ms=1', backendId: sim.id, expiresAt: Date.now() + 30_000, tokenId: randomUUID() });
      const url = `${sim.url}${withToken('/work?ms=1', token)}`;
      expect((await call(agent, url)).status).toBe(200);
      expectRefusal(await call(agent, url), 'already-used');
      expectRefusal(await call(agent, `${sim.url}/work?ms=1`), 'missing');
    } finally {
      await agent.close();
      await sim.close();
    }
  });

  it('serves without a token when REQUIRE_GATEWAY_TOKEN is off (proxy mode)', async () => {
    const sim = await bootstrapBackendSim(loadConfig(BackendSimEnv, { ...baseEnv, REDIRECT_KEYS: KEYS }));
    const agent = testAgent();
    try {
      expect((await call(agent, `${sim.url}/work?ms=1`)).status).toBe(200);
      const echoed = await call(agent, `${sim.url}/echo?lb_token=whatever`);
      expect(echoed.json()).toMatchObject({ query: { lb_token: 'whatever' } }); // not ours to strip
    } finally {
      await agent.close();
      await sim.close();
    }
  });
});
