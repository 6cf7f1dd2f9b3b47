import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { type BalancerStore, MemoryBalancerStore, type MembershipEvent } from '@lb/balancing';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { testRedisUrl } from '@lb/balancing/testing';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';

// The registry as its clients see it: real HTTP on an ephemeral port, the same cases on the
// in-memory store and on a real Redis. Membership events are read the way a gateway reads them.

const TOKEN = '0123456789abcdef0123';
const MAX_BODY_BYTES = 2_048;
const PROBLEM = 'application/problem+json';

type StoreKind = 'memory' | 'redis';

interface Harness {
  readonly registry: RunningRegistry;
  readonly events: MembershipEvent[];
  close(): Promise<void>;
}

/** Boots a registry and an observer that collects membership events (the observer is another store client on Redis). */
async function startRegistry(kind: StoreKind, env: Record<string, string>, logStream?: { write(line: string): void }): Promise<Harness> {
  const base = { REGISTRY_TOKEN: TOKEN, REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env };
  const prefix = `t-${randomUUID()}`;
  const memory = kind === 'memory' ? new MemoryBalancerStore() : undefined;
  const config = loadConfig(RegistryEnv, kind === 'redis' ? { ...base, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix } : base);
  const registry = await bootstrapRegistry(config, { store: memory, logStream });
  const observer: BalancerStore = memory ?? RedisBalancerStore.connect(testRedisUrl(), { keyPrefix: prefix });
  const events: MembershipEvent[] = [];
  const unsubscribe = await observer.subscribe((event) => events.push(event));
  return {
    registry,
    events,
    async close() {
      await unsubscribe();
      await registry.close();
      await observer.close(); // the memory store belongs to the test, the Redis observer too
    },
  };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any; // JSON from the wire
}

interface CallOptions {
  /** An object is sent as JSON; a string is sent as it is. */
  readonly body?: unknown;
  readonly contentType?: string;
  /** null: no Authorization header. */
  readonly token?: string | null;
  readonly authorization?: string;
  readonly headers?: Record<string, string>;
}

async function call(registry: RunningRegistry, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const res = await fetch(`${registry.url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Waits for a condition that the system reaches on its own; the bound only stops a broken run. */
async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, boundMs = 5_000): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`never happened: ${what}`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const uniqueId = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const url = (port: number) => `http://127.0.0.1:${port}`;

describe.each<StoreKind>(['memory', 'redis'])('registry on the %s store', (kind) => {
  let h: Harness;
  const register = (body: Record<string, unknown>) => call(h.registry, 'POST', '/v1/backends', { body });
  const listed = async (pool = 'default') => (await call(h.registry, 'GET', `/v1/backends?pool=${pool}`)).body.backends as { id: string }[];
  const eventFor = (type: string, id: string) =>
    eventually(() => h.events.find((e) => e.type === type && e.id === id), `a "${type}" event for ${id}`);

  beforeAll(async () => {
    h = await startRegistry(kind, { LIVENESS_TTL_MS: '30000', REGISTRY_MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('membership', () => {
    it('registers a backend, answers with its liveness terms and lists it', async () => {
      const id = uniqueId('reg');
      const created = await register({ id, url: url(8101), weight: 2, metadata: { zone: 'a' } });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id,
        pool: 'default',
        livenessDeadline: expect.any(Number),
        livenessTtlMs: 30_000,
        heartbeatIntervalMs: 10_000,
      });

      const view = { id, pool: 'default', url: url(8101), publicUrl: url(8101), weight: 2, state: 'active', metadata: { zone: 'a' }, alive: true, load: 0 };
      expect(await listed()).toContainEqual(expect.objectContaining(view));
      const one = await call(h.registry, 'GET', `/v1/backends/${id}`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ ...view, reported: 0, active: 0, registeredAt: expect.any(Number) });
      await eventFor('registered', id);
    });

    it('makes an id when none is given and keeps a separate public URL', async () => {
      const created = await register({ url: url(8102), publicUrl: 'https://public.example:8443' });
      expect(created.status).toBe(201);
      expect(created.body.id).toMatch(/^b-[0-9a-f]{12}$/);
      const one = await call(h.registry, 'GET', `/v1/backends/${created.body.id}`);
      expect(one.body).toMatchObject({ url: url(8102), publicUrl: 'https://public.example:8443', weight: 1 });
    });

    it('lists backends by pool and lists the pools', async () => {
      const pool = uniqueId('pool');
      const id = uniqueId('pooled');
      expect((await register({ id, pool, url: url(8103) })).body.pool).toBe(pool);
      expect((await listed(pool)).map((b) => b.id)).toEqual([id]);
      expect((await listed()).map((b) => b.id)).not.toContain(id);
      const pools = await call(h.registry, 'GET', '/v1/pools');
      expect(pools.status).toBe(200);
      expect(pools.body.pools).toEqual(expect.arrayContaining(['default', pool]));
      const empty = await call(h.registry, 'GET', `/v1/backends?pool=${uniqueId('none')}`);
      expect(empty.body.backends).toEqual([]);
    });

    it('shows the count a heartbeat reports, and a re-registration keeps it', async () => {
      const id = uniqueId('beat');
      await register({ id, url: url(8104), weight: 2 });
      const beat = await call(h.registry, 'POST', `/v1/backends/${id}/heartbeat`, { body: { active: 4 } });
      expect(beat.status).toBe(200);
      expect(beat.body).toEqual({ id, livenessDeadline: expect.any(Number) });
      expect((await call(h.registry, 'GET', `/v1/backends/${id}`)).body).toMatchObject({ reported: 4, active: 4, load: 2 });

      expect((await register({ id, url: url(8104), weight: 4 })).status).toBe(201);
      expect((await call(h.registry, 'GET', `/v1/backends/${id}`)).body).toMatchObject({ weight: 4, reported: 4, load: 1 });
    });

    it('accepts a heartbeat without a body', async () => {
      const id = uniqueId('bare');
      await register({ id, url: url(8105) });
      expect((await call(h.registry, 'POST', `/v1/backends/${id}/heartbeat`)).status).toBe(200);
      const withEmptyJson = await call(h.registry, 'POST', `/v1/backends/${id}/heartbeat`, { body: '', contentType: 'application/json' });
      expect(withEmptyJson.status).toBe(200);
    });

    it('moves a backend that registers again in another pool: ids are unique across pools', async () => {
      const id = uniqueId('mover');
      const [from, to] = [uniqueId('from'), uniqueId('to')];
      await register({ id, pool: from, url: url(8106) });
      await register({ id, pool: to, url: url(8106) });
      expect((await call(h.registry, 'GET', `/v1/backends/${id}`)).body.pool).toBe(to);
      expect(await listed(from)).toEqual([]);
      expect((await listed(to)).map((b) => b.id)).toEqual([id]);
    });

    it('drains and activates a backend and tells the gateways', async () => {
      const id = uniqueId('drain');
      await register({ id, url: url(8107) });
      const drained = await call(h.registry, 'POST', `/v1/backends/${id}/drain`);
      expect(drained.status).toBe(200);
      expect(drained.body).toMatchObject({ id, state: 'draining' });
      expect((await call(h.registry, 'GET', `/v1/backends/${id}`)).body.state).toBe('draining');
      await eventFor('drained', id);

      const activated = await call(h.registry, 'POST', `/v1/backends/${id}/activate`);
      expect(activated.status).toBe(200);
      expect(activated.body).toMatchObject({ id, state: 'active' });
      await eventFor('activated', id);
    });

    it('removes a backend once', async () => {
      const id = uniqueId('rm');
      await register({ id, url: url(8108) });
      const removed = await call(h.registry, 'DELETE', `/v1/backends/${id}`);
      expect(removed.status).toBe(204);
      expect(removed.body).toBeUndefined();
      await eventFor('removed', id);
      expect((await call(h.registry, 'GET', `/v1/backends/${id}`)).status).toBe(404);
      expect((await listed()).map((b) => b.id)).not.toContain(id);
      expect((await call(h.registry, 'DELETE', `/v1/backends/${id}`)).status).toBe(404);
    });

    it.each([
      ['GET', '/v1/backends/nobody'],
      ['POST', '/v1/backends/nobody/heartbeat'],
      ['POST', '/v1/backends/nobody/drain'],
      ['POST', '/v1/backends/nobody/activate'],
      ['DELETE', '/v1/backends/nobody'],
    ])('answers %s %s for an unknown id with 404 problem+json', async (method, path) => {
      const answer = await call(h.registry, method, path);
      expect(answer.status).toBe(404);
      expect(answer.headers.get('content-type')).toContain(PROBLEM);
      expect(answer.body).toMatchObject({ status: 404, title: 'Not Found' });
    });

    it('exports every backend\u2019s load on /metrics, without credentials', async () => {
      const id = uniqueId('metered');
      await register({ id, url: url(8120), weight: 2 });
      await call(h.registry, 'POST', `/v1/backends/${id}/heartbeat`, { body: { active: 7 } });
      const res = await fetch(`${h.registry.url}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain(`lb_backend_active{pool="default",backend="${id}"} 7`);
      expect(text).toContain(`lb_backend_weight{pool="default",backend="${id}"} 2`);
    });

    it('reports the store on /health', async () => {
      const health = await call(h.registry, 'GET', '/health', { token: null });
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', info: { [kind]: { status: 'up' } } });
    });
  });

  describe('credentials', () => {
    const changes: [string, string, unknown][] = [
      ['POST', '/v1/backends', { url: url(8110) }],
      ['POST', '/v1/backends/some-id/heartbeat', {}],
      ['POST', '/v1/backends/some-id/drain', undefined],
      ['POST', '/v1/backends/some-id/activate', undefined],
      ['DELETE', '/v1/backends/some-id', undefined],
    ];

    it.each(changes)('%s %s without a token is 401 with a Bearer challenge', async (method, path, body) => {
      for (const options of [{ token: null }, { authorization: `Basic ${TOKEN}` }, { authorization: 'Bearer' }]) {
        const answer = await call(h.registry, method, path, { body, ...options });
        expect(answer.status).toBe(401);
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
        expect(answer.headers.get('content-type')).toContain(PROBLEM);
      }
    });

    it.each(changes)('%s %s with a wrong token is 403', async (method, path, body) => {
      for (const token of [`${TOKEN}x`, TOKEN.slice(1), 'x'.repeat(64)]) {
        const answer = await call(h.registry, method, path, { body, token });
        expect(answer.status).toBe(403);
        expect(answer.headers.get('content-type')).toContain(PROBLEM);
        expect(answer.body).toMatchObject({ status: 403, title: 'Forbidden' });
      }
    });

    it('lets anyone read', async () => {
      const id = uniqueId('open');
      await register({ id, url: url(8111) });
      for (const path of ['/v1/backends', `/v1/backends/${id}`, '/v1/pools']) {
        expect((await call(h.registry, 'GET', path, { token: null })).status).toBe(200);
      }
    });
  });

  describe('validation', () => {
    it.each<[string, unknown, string]>([
      ['a URL that does not parse', { url: 'not a url' }, 'url'],
      ['a non-http scheme', { url: 'ftp://10.0.0.1:21' }, 'url'],
      ['a URL with a path', { url: 'http://10.0.0.1:8101/api' }, 'url'],
      ['a URL with credentials', { url: 'http://user:pw@10.0.0.1:8101' }, 'url'],
      ['a missing URL', { weight: 1 }, 'url'],
      ['a bad public URL', { url: url(8101), publicUrl: 'mailto:x@example.com' }, 'publicUrl'],
      ['weight 0', { url: url(8101), weight: 0 }, 'weight'],
      ['weight -1', { url: url(8101), weight: -1 }, 'weight'],
      ['weight as a string', { url: url(8101), weight: '2' }, 'weight'],
      ['weight over the maximum', { url: url(8101), weight: 1_001 }, 'weight'],
      ['an unknown field', { url: url(8101), color: 'red' }, 'color'],
      ['a bad id', { id: 'has space', url: url(8101) }, 'id'],
      ['a bad pool', { pool: '{tag}', url: url(8101) }, 'pool'],
      ['metadata that is not strings', { url: url(8101), metadata: { zone: 1 } }, 'metadata.zone'],
      ['a JSON array', [], 'body'],
      ['malformed JSON', '{"url": "http://10.0.0.1:8101",', 'body'],
    ])('refuses a registration with %s, naming the field', async (_case, body, field) => {
      const answer = await call(h.registry, 'POST', '/v1/backends', { body });
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toContain(PROBLEM);
      expect(answer.body).toMatchObject({ status: 400, field, allowed: expect.any(String) });
    });

    it.each<[string, string, unknown, string]>([
      ['a bad id in the path', '/v1/backends/bad%20id/heartbeat', {}, 'id'],
      ['a negative count', '/v1/backends/some-id/heartbeat', { active: -1 }, 'active'],
      ['a fractional count', '/v1/backends/some-id/heartbeat', { active: 1.5 }, 'active'],
      ['an unknown field', '/v1/backends/some-id/heartbeat', { load: 1 }, 'load'],
      ['a bad id to drain', '/v1/backends/-x/drain', undefined, 'id'],
    ])('refuses a heartbeat or change with %s', async (_case, path, body, field) => {
      const answer = await call(h.registry, 'POST', path, { body });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ status: 400, field });
    });

    it.each([
      ['/v1/backends/bad%20id', 'id'],
      ['/v1/backends?pool=%7Bx%7D', 'pool'],
      ['/v1/backends?colour=red', 'colour'],
    ])('refuses GET %s, naming %s', async (path, field) => {
      const answer = await call(h.registry, 'GET', path);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ status: 400, field });
    });

    it('refuses a body over the limit with 413 problem+json', async () => {
      const body = JSON.stringify({ url: url(8101), metadata: { pad: 'x'.repeat(MAX_BODY_BYTES) } });
      const answer = await call(h.registry, 'POST', '/v1/backends', { body });
      expect(answer.status).toBe(413);
      expect(answer.headers.get('content-type')).toContain(PROBLEM);
      expect(answer.body).toMatchObject({ status: 413, title: 'Content Too Large' });
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded'])('refuses %s with 415 problem+json', async (contentType) => {
      const answer = await call(h.registry, 'POST', '/v1/backends', { body: 'url=http://10.0.0.1:8101', contentType });
      expect(answer.status).toBe(415);
      expect(answer.headers.get('content-type')).toContain(PROBLEM);
      expect(answer.body).toMatchObject({ status: 415 });
    });

    it('answers an unknown route with 404 problem+json', async () => {
      const answer = await call(h.registry, 'GET', '/v2/backends');
      expect(answer.status).toBe(404);
      expect(answer.headers.get('content-type')).toContain(PROBLEM);
    });
  });

  describe('liveness', () => {
    const TTL_MS = 400;
    const lines: string[] = [];
    let live: Harness;

    beforeAll(async () => {
      live = await startRegistry(kind, { LIVENESS_TTL_MS: String(TTL_MS), SWEEP_INTERVAL_MS: '50', LOG_LEVEL: 'info' }, { write: (line) => lines.push(line) });
    });
    afterAll(async () => {
      await live?.close();
    });

    it('evicts a backend that stops beating, keeps one that beats, and announces the eviction once', async () => {
      const [gone, kept] = [uniqueId('gone'), uniqueId('kept')];
      for (const id of [gone, kept]) expect((await call(live.registry, 'POST', '/v1/backends', { body: { id, url: url(8120) } })).status).toBe(201);
      const beat = () => call(live.registry, 'POST', `/v1/backends/${kept}/heartbeat`, { body: { active: 1 } });
      const beating = setInterval(() => void beat().catch(() => undefined), 50);
      try {
        await eventually(() => live.events.find((e) => e.type === 'evicted' && e.id === gone), `the eviction of ${gone}`);
        const ids = async () => ((await call(live.registry, 'GET', '/v1/backends')).body.backends as { id: string }[]).map((b) => b.id);
        expect(await ids()).toEqual([kept]);
        // The agent learns it was evicted from the 404 and registers again.
        expect((await call(live.registry, 'POST', `/v1/backends/${gone}/heartbeat`, { body: {} })).status).toBe(404);

        await sleep(2 * TTL_MS); // several deadlines later the beating backend is still there
        expect(await ids()).toEqual([kept]);
        expect((await call(live.registry, 'GET', `/v1/backends/${kept}`)).body).toMatchObject({ alive: true, reported: 1 });
      } finally {
        clearInterval(beating);
      }
      expect(live.events.filter((e) => e.type === 'evicted' && e.id === gone)).toEqual([{ type: 'evicted', pool: 'default', id: gone }]);
      expect(live.events.some((e) => e.type === 'evicted' && e.id === kept)).toBe(false);

      await call(live.registry, 'GET', '/v1/pools', { headers: { 'x-request-id': 'trace-me-1' } });
      await eventually(() => lines.find((line) => line.includes('"trace-me-1"')), 'the access line of the last call');
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);

      const evictions = logged.filter((l) => l.msg === 'backend evicted: liveness lapsed' && l.backendId === gone);
      expect(evictions).toHaveLength(1);
      expect(evictions[0]).toMatchObject({ level: 'info', service: 'registry', pool: 'default' });
      // The access log was captured, with the caller's request id...
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'request completed', req: expect.objectContaining({ id: 'trace-me-1' }) }));
      expect(lines.join('\n')).not.toContain(TOKEN); // ...and the token sent with every call is in none of it
    });

    it('never evicts a whole pool on lapses alone: half of it per liveness TTL, never the last one that still accepts connections', async () => {
      const listener = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      const port = (listener.address() as AddressInfo).port;
      const pool = uniqueId('quiet');
      const ids = [1, 2, 3, 4].map((i) => uniqueId(`quiet${i}`));
      const listed = async () => ((await call(live.registry, 'GET', `/v1/backends?pool=${pool}`)).body.backends as unknown[]).length;
      try {
        // Four registrations that never beat, at an address where something still listens.
        for (const id of ids) expect((await call(live.registry, 'POST', '/v1/backends', { body: { id, pool, url: `http://127.0.0.1:${port}` } })).status).toBe(201);
        const evicted = () => live.events.filter((e) => e.type === 'evicted' && e.pool === pool);
        await eventually(() => (evicted().length > 0 ? true : undefined), 'the first evictions');
        expect(await listed()).toBeGreaterThanOrEqual(2);
        await eventually(() => (evicted().length === 3 ? true : undefined), 'a share of the rest in each TTL');
        await sleep(4 * TTL_MS); // several more sweeps and TTL windows
        expect(await listed()).toBe(1);
      } finally {
        listener.close();
      }
      const warned = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.pool === pool && typeof l.msg === 'string' && l.msg.startsWith('liveness lapsed but the backend still accepts connections'));
      expect(warned.length).toBeGreaterThan(0);
    }, 15_000);
  });
});

describe.each<StoreKind>(['memory', 'redis'])('registry with declared pools on the %s store', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry(kind, { REGISTRY_POOLS: 'api, web' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lists declared pools before any backend joins them', async () => {
    const pools = await call(h.registry, 'GET', '/v1/pools');
    expect(pools.body.pools).toEqual(expect.arrayContaining(['api', 'web']));
  });

  it('refuses a backend for a pool it does not declare, naming the field and the pools allowed', async () => {
    const refused = await call(h.registry, 'POST', '/v1/backends', { body: { url: url(9001), pool: 'default' } });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ field: 'pool', allowed: 'api, web' });
    const accepted = await call(h.registry, 'POST', '/v1/backends', { body: { url: url(9002), pool: 'web' } });
    expect(accepted.status).toBe(201);
  });
});

describe.each<StoreKind>(['memory', 'redis'])('bounded registration on the %s store', (kind) => {
  const CAP = 3;
  // The lowest heartbeat limit the registry accepts for a 60 s TTL (what an agent sends at its rhythm).
  const BEATS_PER_S = 12;
  let h: Harness;
  const register = (body: Record<string, unknown>) => call(h.registry, 'POST', '/v1/backends', { body });
  const beat = (id: string) => call(h.registry, 'POST', `/v1/backends/${id}/heartbeat`, { body: { active: 1 } });

  beforeAll(async () => {
    h = await startRegistry(kind, {
      LIVENESS_TTL_MS: '60000',
      REGISTRY_MAX_BACKENDS_PER_POOL: String(CAP),
      REGISTRY_HEARTBEATS_PER_S: String(BEATS_PER_S),
      REGISTRY_HEARTBEAT_BURST: String(BEATS_PER_S),
      REGISTRY_ANONYMOUS_REGISTRATIONS_PER_S: '0.01',
      REGISTRY_ANONYMOUS_REGISTRATION_BURST: '2',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a new backend in a full pool with 409 pool-full; one already there registers again', async () => {
    const pool = uniqueId('capped');
    const ids = [1, 2, 3].map((i) => uniqueId(`in${i}`));
    for (const id of ids) expect((await register({ id, pool, url: url(8130) })).status).toBe(201);

    const refused = await register({ id: uniqueId('extra'), pool, url: url(8130) });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toContain(PROBLEM);
    expect(refused.body).toMatchObject({ type: 'urn:lb:problem:pool-full', status: 409, field: 'pool', allowed: `at most ${CAP} backends per pool` });

    // Re-registering (an agent after an eviction) is never refused by the cap, and may change the record.
    const again = await register({ id: ids[0], pool, url: url(8131), weight: 2 });
    expect(again.status).toBe(201);
    expect((await call(h.registry, 'GET', `/v1/backends/${ids[0]}`)).body).toMatchObject({ url: url(8131), weight: 2 });

    // A backend moving in from another pool is new to this one: refused, and it stays where it was.
    const elsewhere = uniqueId('elsewhere');
    const mover = uniqueId('mover');
    await register({ id: mover, pool: elsewhere, url: url(8132) });
    expect((await register({ id: mover, pool, url: url(8132) })).status).toBe(409);
    expect((await call(h.registry, 'GET', `/v1/backends/${mover}`)).body.pool).toBe(elsewhere);

    // Room again once one leaves.
    expect((await call(h.registry, 'DELETE', `/v1/backends/${ids[1]}`)).status).toBe(204);
    expect((await register({ id: mover, pool, url: url(8132) })).status).toBe(201);
    expect((await call(h.registry, 'GET', `/v1/backends?pool=${pool}`)).body.backends).toHaveLength(CAP);
  });

  it.each([0.001, 1e-300])('refuses weight %p, naming the field and the range allowed', async (weight) => {
    const refused = await register({ id: uniqueId('light'), url: url(8133), weight });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ status: 400, field: 'weight', allowed: 'expected a number from 0.01 to 1000' });
  });

  it('accepts the smallest weight allowed', async () => {
    expect((await register({ id: uniqueId('lightest'), url: url(8133), weight: 0.01 })).status).toBe(201);
  });

  it('answers a backend that beats far too fast 429 with Retry-After, while another backend\u2019s beats are answered 200', async () => {
    const [noisy, quiet] = [uniqueId('noisy'), uniqueId('quiet')];
    for (const id of [noisy, quiet]) expect((await register({ id, url: url(8134) })).status).toBe(201);
    const quietBeats = async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await beat(quiet)).status);
      return statuses;
    };
    // A hundred beats at once from one backend, and the other's usual beats meanwhile.
    const [flood, quietStatuses] = await Promise.all([Promise.all(Array.from({ length: 100 }, () => beat(noisy))), quietBeats()]);

    expect(quietStatuses).toEqual([200, 200, 200]);
    const refused = flood.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(flood.every((answer) => answer.status === 200 || answer.status === 429)).toBe(true);
    expect(refused[0].headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(refused[0].headers.get('content-type')).toContain(PROBLEM);
    expect(refused[0].body).toMatchObject({ type: 'urn:lb:problem:rate-limited', status: 429, title: 'Too Many Requests' });
  });

  it('bounds registrations without an id per client address', async () => {
    const pool = uniqueId('anonymous');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await register({ pool, url: url(8135) })).status);
    expect(statuses).toEqual([201, 201, 429]);
    // One with an id is counted on its own.
    expect((await register({ id: uniqueId('named'), pool, url: url(8135) })).status).toBe(201);
  });
});
