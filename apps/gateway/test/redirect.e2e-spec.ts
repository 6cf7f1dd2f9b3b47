import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { BackendRecord, BalancerStore } from '@lb/balancing';
import { MemoryBalancerStore } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { call, eventually, startPlainBackend, testAgent, testRedisUrl, type PlainBackend } from '@lb/balancing/testing';
import { parseKeyRing, tokenGuardMiddleware } from '@lb/balancing/token';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { loadConfig } from '@lb/runtime';
import { fetch } from 'undici';

const POOL = 'default';
const TTL = 60_000;
const run = promisify(execFile);

/**
 * Redirect ("iterative") mode end to end: the gateway answers 307 with a signed token, the client
 * follows it, and backends running the token guard serve only what a gateway decided, once.
 */
describe.each(['memory', 'redis'] as const)('redirect mode on the %s store', (kind) => {
  const agent = testAgent();
  const secretOld = randomBytes(32).toString('base64');
  const secretNew = randomBytes(32).toString('base64');
  let store: BalancerStore;
  let gateway: RunningGateway;
  let backends: PlainBackend[];

  const startBackend = async (id: string, keys: string) => {
    const ring = parseKeyRing(keys);
    const self: { backend?: PlainBackend } = {};
    self.backend = await startPlainBackend(id, {
      // The backend's count already includes the arriving request when it claims its slot.
      middleware: tokenGuardMiddleware({ ring, backendId: () => id, claim: (tokenId) => store.claim(POOL, id, tokenId, self.backend?.active() ?? 1) }),
      report: (count) => void store.report(POOL, id, count),
    });
    return self.backend;
  };

  beforeEach(async () => {
    const prefix = `t-${randomUUID()}`;
    store = kind === 'memory' ? new MemoryBalancerStore() : RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: prefix });
    // Key rotation: backends know both keys, the gateway signs with the new one.
    backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startBackend(id, `new:${secretNew},old:${secretOld}`)));
    for (const b of backends) {
      const record: BackendRecord = { id: b.id, pool: POOL, url: b.url, publicUrl: b.url, weight: 1, state: 'active', registeredAt: Date.now(), metadata: {} };
      await store.register(record, TTL);
    }
    const config = resolveGatewayConfig(
      loadConfig(GatewayEnv, {
        GATEWAY_PORT: '0',
        GATEWAY_ADMIN_PORT: '0',
        GATEWAY_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        GATEWAY_MODE: 'redirect',
        REDIRECT_KEYS: `new:${secretNew}`,
        REDIRECT_TOKEN_TTL_MS: '400',
        ...(kind === 'redis' ? { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix } : {}),
      }),
    );
    gateway = await bootstrapGateway(config, kind === 'memory' ? { store } : {});
  });

  afterEach(async () => {
    await gateway.close();
    await Promise.all(backends.map((b) => b.close()));
    await store.close();
  });

  afterAll(() => agent.close());

  it('answers 307 with a signed Location on the chosen backend, never cached', async () => {
    const res = await call(agent, `${gateway.trafficUrl}/work?ms=1`);
    expect(res.status).toBe(307);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(String(res.headers.location)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/work\?ms=1&lb_token=v1~new~/);
  });

  it('spreads 30 concurrent slow requests 10/10/10 for clients that follow the redirect', async () => {
    const responses = await Promise.all(
      Array.from({ length: 30 }, async () => {
        // Long enough that all 30 overlap even on a busy machine: the spread is decided while all are in flight.
        const res = await fetch(`${gateway.trafficUrl}/work?ms=1000`, { redirect: 'follow' });
        await res.arrayBuffer();
        return { status: res.status, backend: res.headers.get('x-backend-id') ?? '' };
      }),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    const spread: Record<string, number> = {};
    for (const r of responses) spread[r.backend] = (spread[r.backend] ?? 0) + 1;
    expect(spread).toEqual({ b1: 10, b2: 10, b3: 10 });
    await eventually(async () => (await store.list(POOL)).every((v) => v.active === 0), 3_000, 'counts back to 0');
  });

  it('repeats a POST and its body on the backend', async () => {
    const body = randomBytes(256 * 1024);
    const res = await fetch(`${gateway.trafficUrl}/echo?k=v`, { method: 'POST', body, redirect: 'follow', headers: { 'content-type': 'application/x-test' } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
    const seen = JSON.parse(res.headers.get('x-echo-request') ?? '{}') as { method: string; url: string };
    expect(seen).toMatchObject({ method: 'POST', url: '/echo?k=v' }); // the handler never sees the token
  });

  it('works for curl -L', async () => {
    const { stdout } = await run('curl', ['-sS', '-L', '-D', '-', `${gateway.trafficUrl}/work?ms=1`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 307/);
    expect(stdout).toMatch(/HTTP\/1\.1 200[\s\S]*x-backend-id: b\d/i);
  });

  it('refuses a direct request, a tampered, replayed or misdirected token with 403 and the reason', async () => {
    const direct = await call(agent, `${backends[0].url}/work?ms=1`);
    expect(direct.status).toBe(403);
    expect(direct.headers['content-type']).toBe('application/problem+json');
    expect(direct.json()).toMatchObject({ reason: 'missing' });

    const location = String((await call(agent, `${gateway.trafficUrl}/work?ms=1`)).headers.location);
    const target = backends.find((b) => location.startsWith(b.url))!;
    const other = backends.find((b) => b !== target)!;
    expect((await call(agent, location.replace('ms=1', 'ms=2'))).json()).toMatchObject({ reason: 'wrong-path' });
    expect((await call(agent, location.replace(target.url, other.url))).json()).toMatchObject({ reason: 'wrong-backend' });
    expect((await call(agent, location, { method: 'DELETE' })).json()).toMatchObject({ reason: 'wrong-method' });
    expect((await call(agent, location.replace(/~([^~]+)$/, '~AAAA'))).json()).toMatchObject({ reason: 'bad-signature' });
    expect((await call(agent, location)).status).toBe(200);
    expect((await call(agent, location)).json()).toMatchObject({ reason: 'already-used' });
  });

  it('lets a slot reserved for a client that never comes lapse with its token', async () => {
    const res = await call(agent, `${gateway.trafficUrl}/work?ms=1`);
    expect(res.status).toBe(307);
    expect((await store.list(POOL)).reduce((sum, v) => sum + v.active, 0)).toBe(1);
    await eventually(
      async () => {
        await store.sweep(POOL); // the registry's sweeper does this every SWEEP_INTERVAL_MS
        return (await store.list(POOL)).every((v) => v.active === 0);
      },
      3_000,
      'pending slot lapsed',
    );
    await new Promise((r) => setTimeout(r, 1_100)); // past the token's expiry and the 1 s clock skew allowance
    const late = await call(agent, String(res.headers.location));
    expect(late.json()).toMatchObject({ reason: 'expired' });
  });
});
