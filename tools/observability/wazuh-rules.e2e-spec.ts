import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisBalancerStore } from '@lb/balancing/redis';
import { call, eventually, freePort, startPlainBackend, startRedis, testAgent, type PlainBackend, type RedisServerHandle, type SimpleResponse } from '@lb/balancing/testing';
import { parseKeyRing, signToken, withToken, type KeyRing } from '@lb/balancing/token';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';
import { decodeJsonLine, parseRules, parseXml, WazuhEvaluator, type Verdict } from './wazuh-ruleset';

/**
 * The Wazuh rules (infra/observability/wazuh/lb_rules.xml) against the lines the apps really
 * print. A registry, two backend-sims, a gateway and a backend-sim that requires gateway tokens run
 * in this process on a redis-server of the test's own, each writing its JSON lines into one list
 * (as an agent reading their logs would see them). The test provokes every situation a rule is for
 * (refused registry writes, forged, expired and replayed redirect tokens, evictions, a backend
 * that drops connections, a Redis that stops answering), knowing from its own side which requests
 * and backends were involved, then runs every line through the rules (wazuh-ruleset.ts, the subset
 * of Wazuh's rule syntax the rules use): each rule fires on exactly the lines it is for, and no
 * line outside them raises an alert.
 */
jest.setTimeout(120_000);

const root = join(__dirname, '..', '..');
const RULES = join(root, 'infra', 'observability', 'wazuh', 'lb_rules.xml');
const TOKEN = randomBytes(24).toString('hex');
const KEYS = `k1:${randomBytes(32).toString('base64')}`;
const TTL_MS = 1_000;
const BURST = { refused: 5, tokens: 5, evictions: 3, upstream: 10 };

type Json = Record<string, any>; // a decoded log line

const lines: string[] = [];
const logStream = {
  write(chunk: string): void {
    for (const line of chunk.split('\n')) if (line.trim()) lines.push(line);
  },
};
const parsed = (line: string) => JSON.parse(line) as Json;

const agent = testAgent();
let redis: RedisServerHandle;
const keyPrefix = `wz-${randomUUID().slice(0, 8)}`;
let registry: RunningRegistry;
let sims: RunningBackendSim[] = [];
let tokenSim: RunningBackendSim;
let gateway: RunningGateway;
let broken: PlainBackend | undefined;
let beating: NodeJS.Timeout | undefined;

/** What the test did, from its own side: the ids it chose and what the apps answered. */
const provoked = {
  refusedWrites: [] as string[],
  tokenRefusals: [] as { id: string; reason: string }[],
  lapsed: { lonely: ['wz-lonely'], storm: ['wz-storm-1', 'wz-storm-2', 'wz-storm-3', 'wz-storm-4'] },
  /** Request ids the dropping backend received, in order. */
  dropped: [] as string[],
  answers: new Map<string, { method: string; status: number }>(),
  /** Line indices: the Redis pause ran from `paused` to `resumed`. */
  paused: 0,
  resumed: 0,
};
let verdicts: Verdict[] = [];

const registryCall = (method: string, path: string, options: { id: string; token?: string | null; body?: unknown }) =>
  call(agent, `${registry.url}${path}`, {
    method,
    headers: {
      'x-request-id': options.id,
      ...(options.token === null ? {} : { authorization: `Bearer ${options.token ?? TOKEN}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });

const listed = async (pool: string) => (await registryCall('GET', `/v1/backends?pool=${pool}`, { id: `wz-list-${randomUUID()}` })).json<{ backends: { id: string; health?: string }[] }>().backends;

async function bootCluster(): Promise<void> {
  redis = await startRedis();
  const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix, LOG_LEVEL: 'info' };
  registry = await bootstrapRegistry(
    loadConfig(RegistryEnv, { ...shared, REGISTRY_TOKEN: TOKEN, REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', LIVENESS_TTL_MS: String(TTL_MS), SWEEP_INTERVAL_MS: '50' }),
    { logStream },
  );
  const simEnv = { ...shared, BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', REGISTRY_URL: registry.url, REGISTRY_TOKEN: TOKEN };
  sims = [await bootstrapBackendSim(loadConfig(BackendSimEnv, { ...simEnv, BACKEND_ID: 'wz-sim-1' }), { logStream })];
  sims.push(await bootstrapBackendSim(loadConfig(BackendSimEnv, { ...simEnv, BACKEND_ID: 'wz-sim-2' }), { logStream }));
  await eventually(async () => (await listed('default')).filter((b) => b.health === 'up').length === 2, 15_000, 'two healthy backends in the default pool');
  gateway = await bootstrapGateway(
    resolveGatewayConfig(loadConfig(GatewayEnv, { ...shared, GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_ID: 'wz-gateway', STORE_TIMEOUT_MS: '1000' })),
    { logStream },
  );
  tokenSim = await bootstrapBackendSim(
    loadConfig(BackendSimEnv, { LOG_LEVEL: 'info', BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_ID: 'wz-token-sim', BACKEND_REGISTER: 'false', REQUIRE_GATEWAY_TOKEN: 'true', REDIRECT_KEYS: KEYS }),
    { logStream },
  );
}

/** Six writes without the token (401) or with a wrong one (403). */
async function refuseRegistryWrites(): Promise<void> {
  for (let i = 1; i <= 6; i++) {
    const id = `wz-refused-${i}`;
    const res = i <= 3
      ? await registryCall('POST', '/v1/backends', { id, token: null, body: { id: 'wz-intruder', url: 'http://127.0.0.1:9' } })
      : await registryCall('POST', '/v1/backends/wz-sim-1/drain', { id, token: 'not-the-registry-token' });
    expect(res.status).toBe(i <= 3 ? 401 : 403);
    provoked.refusedWrites.push(id);
  }
  expect((await registryCall('GET', '/v1/backends', { id: 'wz-open-read', token: null })).status).toBe(200); // reads are open
}

/** Redirected requests a backend must refuse: no token, forged, signed with an unknown key, expired, replayed, for another path. */
async function refuseGatewayTokens(): Promise<void> {
  const ring = parseKeyRing(KEYS);
  const forger = parseKeyRing(`k1:${randomBytes(32).toString('base64')}`);
  const stranger = parseKeyRing(`k9:${randomBytes(32).toString('base64')}`);
  const redirected = (signWith: KeyRing, expiresAt = Date.now() + 30_000, pathAndQuery = '/work?ms=1') =>
    withToken(pathAndQuery, signToken(signWith, { method: 'GET', pathAndQuery, backendId: tokenSim.id, expiresAt, tokenId: randomUUID() }));
  const send = (id: string, target: string) => call(agent, `${tokenSim.url}${target}`, { headers: { 'x-request-id': id } });
  const valid = redirected(ring);
  const attempts: [string, string, string | undefined][] = [
    ['wz-token-missing', '/work?ms=1', 'missing'],
    ['wz-token-forged', redirected(forger), 'bad-signature'],
    ['wz-token-unknown-key', redirected(stranger), 'unknown-key'],
    ['wz-token-expired', redirected(ring, Date.now() - 10_000), 'expired'],
    ['wz-token-valid', valid, undefined],
    ['wz-token-replayed', valid, 'already-used'],
    ['wz-token-other-path', valid.replace('/work?ms=1', '/work?ms=2'), 'wrong-path'],
  ];
  for (const [id, target, reason] of attempts) {
    const res: SimpleResponse = await send(id, target);
    if (reason === undefined) {
      expect(res.status).toBe(200);
      continue;
    }
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ status: 403, reason });
    provoked.tokenRefusals.push({ id, reason });
  }
}

/** Backends registered where nothing listens, that never beat: one alone in its pool, then four in another. */
async function letBackendsLapse(): Promise<void> {
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  for (const [pool, ids] of Object.entries(provoked.lapsed)) {
    for (const id of ids) expect((await registryCall('POST', '/v1/backends', { id: `wz-register-${id}`, body: { id, pool, url: nowhere } })).status).toBe(201);
    await eventually(async () => (await listed(pool)).length === 0, 15_000, `the eviction of pool ${pool}`);
  }
}

/** A gateway that held a lease, beat once and died: the registry reaps it. */
async function letAGatewayDie(): Promise<void> {
  const store = RedisBalancerStore.connect(redis.url, { keyPrefix });
  try {
    expect(await store.reserve('default', 'wz-gateway-gone')).toBeDefined();
    await store.beatHolder('default', 'wz-gateway-gone', 200);
  } finally {
    await store.close();
  }
  await eventually(() => lines.some((l) => parsed(l).holder === 'wz-gateway-gone'), 15_000, 'the dead gateway reaped');
}

/** Lines close to the ones the rules look for, that must stay quiet: other 4xx of every app. */
async function nearMisses(): Promise<void> {
  expect((await registryCall('POST', '/v1/backends', { id: 'wz-near-bad-body', body: { url: 'not a url' } })).status).toBe(400);
  expect((await registryCall('POST', '/v1/backends/wz-nobody/heartbeat', { id: 'wz-near-unknown-beat', body: {} })).status).toBe(404);
  const pathAndQuery = '/nowhere';
  const token = signToken(parseKeyRing(KEYS), { method: 'GET', pathAndQuery, backendId: tokenSim.id, expiresAt: Date.now() + 30_000, tokenId: randomUUID() });
  expect((await call(agent, `${tokenSim.url}${withToken(pathAndQuery, token)}`, { headers: { 'x-request-id': 'wz-near-token-404' } })).status).toBe(404);
  expect((await call(agent, `${gateway.trafficUrl}/nowhere`, { headers: { 'x-request-id': 'wz-near-gateway-404' } })).status).toBe(404);
}

/** Requests through the gateway until the dropping backend got a dozen: GETs (retried elsewhere) and POSTs with a body (not replayable). */
async function sendThroughADroppingBackend(): Promise<void> {
  // A backend that looks healthy (it answers /health) but drops every request it gets unanswered;
  // registered through the API and kept alive with heartbeats, as an agentless backend is.
  broken = await startPlainBackend('wz-broken', {
    middleware: (req) => {
      provoked.dropped.push(String(req.headers['x-request-id']));
      req.socket.destroy();
    },
  });
  expect((await registryCall('POST', '/v1/backends', { id: 'wz-register-broken', body: { id: 'wz-broken', url: broken.url } })).status).toBe(201);
  beating = setInterval(() => void registryCall('POST', '/v1/backends/wz-broken/heartbeat', { id: `wz-beat-${randomUUID()}`, body: {} }).catch(() => undefined), TTL_MS / 4);
  for (let n = 1; provoked.dropped.length < 12 && n <= 400; n++) {
    const id = `wz-up-${n}`;
    const post = n % 2 === 0;
    const res = await call(agent, `${gateway.trafficUrl}${post ? '/echo' : '/work?ms=1'}`, {
      method: post ? 'POST' : 'GET',
      headers: { 'x-request-id': id, ...(post ? { 'content-type': 'text/plain' } : {}) },
      body: post ? 'payload' : undefined,
    });
    provoked.answers.set(id, { method: post ? 'POST' : 'GET', status: res.status });
  }
  expect(provoked.dropped.length).toBeGreaterThanOrEqual(12);
  clearInterval(beating);
  expect((await registryCall('DELETE', '/v1/backends/wz-broken', { id: 'wz-remove-broken' })).status).toBeLessThan(300);
  await broken?.close();
  broken = undefined;
  // The gateway dropped it from its view (its per-backend series go with it), so no pick made from
  // that view while Redis is paused goes there.
  await eventually(async () => !(await call(agent, `${gateway.adminUrl}/metrics`)).body.toString().includes('backend="wz-broken"'), 15_000, 'the gateway forgetting the dropping backend');
}

/** Redis stops answering (SIGSTOP) until the gateway says it is degraded, then answers again. */
async function pauseTheStore(): Promise<void> {
  provoked.paused = lines.length;
  await redis.pause();
  try {
    // The next pick misses STORE_TIMEOUT_MS and comes from the local view.
    expect((await call(agent, `${gateway.trafficUrl}/work?ms=1`, { headers: { 'x-request-id': 'wz-during-outage' } })).status).toBe(200);
    await eventually(() => lines.slice(provoked.paused).some((l) => parsed(l).service === 'gateway' && parsed(l).level === 'warn' && String(parsed(l).msg).startsWith('store degraded')), 15_000, 'the gateway degraded');
  } finally {
    provoked.resumed = lines.length;
    await redis.resume();
  }
  await eventually(() => lines.slice(provoked.resumed).some((l) => String(parsed(l).msg).startsWith('store answers again')), 15_000, 'the gateway back on the store');
}

beforeAll(async () => {
  await bootCluster();
  await refuseRegistryWrites();
  await refuseGatewayTokens();
  await letBackendsLapse();
  await letAGatewayDie();
  await nearMisses();
  await sendThroughADroppingBackend();
  await pauseTheStore();
  const evaluator = new WazuhEvaluator(parseRules(readFileSync(RULES, 'utf8')));
  verdicts = lines.map((line) => {
    const event = decodeJsonLine(line);
    if (!event) throw new Error(`not a JSON line: ${line}`);
    return evaluator.evaluate(event);
  });
  // For a run through the real wazuh-logtest: every line with what this evaluation made of it.
  mkdirSync(join(root, 'tmp', 'observability'), { recursive: true });
  writeFileSync(
    join(root, 'tmp', 'observability', 'wazuh-verdicts.jsonl'),
    verdicts.map((v) => JSON.stringify({ rule: v.rule?.id, level: v.rule?.level, description: v.alert ? v.description : undefined, line: v.event.line })).join('\n') + '\n',
  );
});

afterAll(async () => {
  clearInterval(beating);
  await gateway?.close();
  await tokenSim?.close();
  await Promise.all(sims.map((s) => s.close()));
  await broken?.close();
  await registry?.close();
  await redis?.stop();
  await agent.close();
});

/** The rule ids of the lines `select` picks, in the order the apps printed them. */
const rulesOf = (select: (line: Json) => boolean) => verdicts.filter((v) => select(parsed(v.event.line))).map((v) => v.rule?.id);
/** Expected ids for N events of a rule and its frequency child: the child on every F-th. */
const burstOf = (n: number, rule: number, child: number, every: number) => Array.from({ length: n }, (_, i) => ((i + 1) % every === 0 ? child : rule));
const isAccess = (l: Json, service: string, ids: readonly string[]) => l.service === service && ids.includes(l.req?.id);

describe('Wazuh rules on the lines the apps print', () => {
  it('100510/100511: every refused registry write, a burst on every fifth', () => {
    const seen = rulesOf((l) => isAccess(l, 'registry', provoked.refusedWrites));
    expect(seen).toEqual(burstOf(6, 100510, 100511, BURST.refused));
    const first = verdicts.find((v) => parsed(v.event.line).req?.id === 'wz-refused-1');
    expect(first?.description).toBe('Load balancer registry refused POST /v1/backends with 401: missing or wrong REGISTRY_TOKEN');
  });

  it('100520/100521: every redirected request refused for its token (forged, unknown key, expired, replayed, other path, none), a burst on every fifth', () => {
    expect(provoked.tokenRefusals.map((r) => r.reason)).toEqual(['missing', 'bad-signature', 'unknown-key', 'expired', 'already-used', 'wrong-path']);
    const seen = rulesOf((l) => l.msg === 'request completed' && isAccess(l, 'backend-sim', provoked.tokenRefusals.map((r) => r.id)));
    expect(seen).toEqual(burstOf(6, 100520, 100521, BURST.tokens));
    expect(rulesOf((l) => isAccess(l, 'backend-sim', ['wz-token-valid']))).toEqual([100500]);
  });

  it('100522/100523/100524: a forged, an expired and a replayed token each named by the refusal line; other refusals by none', () => {
    const refusalRule = (id: string) => rulesOf((l) => l.msg === 'gateway token refused' && isAccess(l, 'backend-sim', [id]));
    expect(provoked.tokenRefusals.map(({ id, reason }) => [reason, refusalRule(id)])).toEqual([
      ['missing', [100500]],
      ['bad-signature', [100522]],
      ['unknown-key', [100522]],
      ['expired', [100523]],
      ['already-used', [100524]],
      ['wrong-path', [100500]],
    ]);
    expect(verdicts.find((v) => v.rule?.id === 100524)?.description).toBe('Load balancer backend refused a replayed redirect token for GET /work?[redacted]');
  });

  it('100530/100531: every eviction, a storm on the third in one pool, none across pools', () => {
    const evicted = (ids: readonly string[]) => (l: Json) => l.service === 'registry' && ids.includes(l.backendId) && l.msg === 'backend evicted: liveness lapsed';
    expect(rulesOf(evicted(provoked.lapsed.lonely))).toEqual([100530]);
    expect(rulesOf(evicted(provoked.lapsed.storm))).toEqual(burstOf(4, 100530, 100531, BURST.evictions));
    const storm = verdicts.find((v) => v.rule?.id === 100531);
    expect(storm?.description).toBe('Load balancer eviction storm: 3 backends of pool storm evicted within 120 s');
  });

  it('100540/100541: every exchange that met the dropping backend (retried or not), a burst on every tenth', () => {
    const met = provoked.dropped;
    const seen = rulesOf((l) => isAccess(l, 'gateway', met));
    expect(seen).toEqual(burstOf(met.length, 100540, 100541, BURST.upstream));
    // Exchanges that never met it: 200 and no rule of their own.
    const clean = [...provoked.answers.keys()].filter((id) => !met.includes(id));
    expect(clean.length).toBeGreaterThan(0);
    expect(new Set(rulesOf((l) => isAccess(l, 'gateway', clean)))).toEqual(new Set([100500]));
  });

  it('100542: each failure a client saw (a POST the gateway could not retry), not the GETs a retry saved', () => {
    const met = provoked.dropped.map((id) => ({ id, ...provoked.answers.get(id)! }));
    const posts = met.filter((m) => m.method === 'POST');
    const gets = met.filter((m) => m.method === 'GET');
    expect(posts.length).toBeGreaterThan(0);
    expect(gets.length).toBeGreaterThan(0);
    expect(posts.every((m) => m.status === 502)).toBe(true);
    expect(gets.every((m) => m.status === 200)).toBe(true);
    const failed = rulesOf((l) => l.service === 'gateway' && l.level === 'warn' && met.some((m) => m.id === l.reqId));
    expect(failed).toEqual(posts.map(() => 100542));
  });

  it('100550/100551: the gateway going degraded while Redis was paused, and coming back', () => {
    const during = verdicts.slice(provoked.paused, provoked.resumed).filter((v) => v.rule?.id === 100550);
    expect(during).toHaveLength(1);
    expect(parsed(during[0].event.line)).toMatchObject({ service: 'gateway', level: 'warn' });
    expect(verdicts.filter((v) => v.rule?.id === 100550)).toHaveLength(1);
    const back = verdicts.filter((v) => v.rule?.id === 100551);
    expect(back).toHaveLength(1);
    expect(verdicts.indexOf(back[0])).toBeGreaterThanOrEqual(provoked.resumed);
  });

  it('no other line raises an alert, and every line is one of the load balancer\'s', () => {
    expect(verdicts.length).toBeGreaterThan(100);
    expect(verdicts.filter((v) => v.rule === undefined).map((v) => v.event.line)).toEqual([]);
    const expectedAlerts =
      provoked.refusedWrites.length + provoked.tokenRefusals.length + provoked.lapsed.lonely.length + provoked.lapsed.storm.length +
      // the refusal lines that name a forged, expired or replayed token (100522-100524)
      provoked.tokenRefusals.filter((r) => ['bad-signature', 'unknown-key', 'malformed', 'expired', 'already-used'].includes(r.reason)).length +
      provoked.dropped.length + provoked.dropped.filter((id) => provoked.answers.get(id)?.method === 'POST').length + 2;
    const alerts = verdicts.filter((v) => v.alert);
    expect(alerts).toHaveLength(expectedAlerts);
    // What stayed quiet covers every app, warnings and errors included (refusals to beat while
    // Redis was paused, the sweep that failed, the dead gateway reaped, backends kept or removed).
    const quiet = verdicts.filter((v) => !v.alert).map((v) => parsed(v.event.line));
    expect(new Set(quiet.map((l) => l.service))).toEqual(new Set(['gateway', 'registry', 'backend-sim']));
    expect(quiet.some((l) => l.holder === 'wz-gateway-gone')).toBe(true);
    const nearMisses = quiet.filter((l) => String(l.req?.id).startsWith('wz-near-'));
    expect(nearMisses.map((l) => `${l.service} ${l.res?.statusCode}`).sort()).toEqual(['backend-sim 404', 'backend-sim 404', 'gateway 404', 'registry 400', 'registry 404']); // the gateway's 404 came from a backend-sim
    expect(quiet.some((l) => l.level === 'warn' || l.level === 'error')).toBe(true);
  });

  it('the registry counts its evictions and reaped gateways per pool (lb_registry_*)', async () => {
    const metrics = (await call(agent, `${registry.url}/metrics`)).body.toString();
    expect(metrics).toContain('lb_registry_evictions_total{pool="lonely"} 1');
    expect(metrics).toContain('lb_registry_evictions_total{pool="storm"} 4');
    expect(metrics).toContain('lb_registry_evictions_total{pool="default"} 0');
    expect(metrics).toMatch(/lb_registry_reaped_gateways_total\{pool="default"\} [1-9]/);
  });

  it('the agent configuration reads every app the Nomad jobs run, as JSON', () => {
    const conf = parseXml(readFileSync(join(root, 'infra', 'observability', 'wazuh', 'agent.conf'), 'utf8'));
    const localfiles = conf.flatMap((c) => c.children).filter((c) => c.name === 'localfile');
    expect(localfiles.length).toBeGreaterThan(0);
    for (const lf of localfiles) expect(lf.children.find((c) => c.name === 'log_format')?.text.trim()).toBe('json');
    const locations = localfiles.map((lf) => lf.children.find((c) => c.name === 'location')?.text.trim() ?? '');
    const nomad = ['gateway', 'registry', 'backend-sim'].map((app) => readFileSync(join(root, 'infra', 'nomad', `${app}.nomad.hcl`), 'utf8'));
    for (const [i, app] of ['gateway', 'registry', 'backend-sim'].entries()) {
      expect(nomad[i]).toContain(`task "${app}"`);
      expect(locations).toContain(`/opt/nomad/data/alloc/*/alloc/logs/${app}.stdout.*`);
    }
  });
});
