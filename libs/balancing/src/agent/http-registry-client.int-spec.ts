import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../testing/http-client';
import { BackendAgent } from './backend-agent';
import { HttpRegistryClient, parseRetryAfter } from './http-registry-client';
import { RegistryError } from './registry-client';

const TOKEN = 'test-registry-token-0123456789';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
  status?: number;
}

/** A tiny stand-in for the registry's HTTP API that records what it was sent. */
async function startFakeRegistry(options: { heartbeatIntervalMs?: number; hang?: boolean } = {}) {
  const seen: Seen[] = [];
  const known = new Set<string>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const body = raw ? JSON.parse(raw) : undefined;
      const path = req.url ?? '';
      const entry: Seen = { method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'], body };
      seen.push(entry);
      if (options.hang) return; // never answers
      const json = (status: number, payload?: unknown, type = 'application/json') => {
        entry.status = status;
        res.writeHead(status, payload === undefined ? {} : { 'content-type': type });
        res.end(payload === undefined ? undefined : JSON.stringify(payload));
      };
      if (path === '/v1/backends/busy/heartbeat') {
        res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '2' });
        return res.end(JSON.stringify({ type: 'x', title: 'Too Many Requests', status: 429, detail: 'slow down' }));
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { type: 'x', title: 'Unauthorized', status: 401, detail: 'a valid bearer token is required' }, 'application/problem+json');
      let m: RegExpExecArray | null;
      if (req.method === 'POST' && path === '/v1/backends') {
        known.add(body.id);
        return json(201, { id: body.id, pool: body.pool ?? 'default', livenessDeadline: Date.now() + 3_000, livenessTtlMs: 3_000, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000 });
      }
      if (req.method === 'POST' && (m = /^\/v1\/backends\/([^/]+)\/heartbeat$/.exec(path))) {
        const id = decodeURIComponent(m[1]);
        if (!known.has(id)) return json(404, { type: 'x', title: 'Not Found', status: 404, detail: `no backend ${id}` }, 'application/problem+json');
        return json(200, { id, livenessDeadline: Date.now() + 3_000 });
      }
      if (req.method === 'DELETE' && (m = /^\/v1\/backends\/([^/]+)$/.exec(path))) {
        known.delete(decodeURIComponent(m[1]));
        return json(204);
      }
      return json(404, { type: 'x', title: 'Not Found', status: 404 }, 'application/problem+json');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    known,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('HttpRegistryClient against a real HTTP server', () => {
  it('speaks the v1 paths with the bearer token and JSON bodies', async () => {
    const registry = await startFakeRegistry();
    try {
      const client = new HttpRegistryClient({ baseUrl: `${registry.url}/`, token: TOKEN });
      const reg = await client.register({ id: 'sim-a', pool: 'p1', url: 'http://10.0.0.5:8101', weight: 2 });
      expect(reg).toMatchObject({ id: 'sim-a', pool: 'p1', heartbeatIntervalMs: 1_000, livenessTtlMs: 3_000 });
      expect(await client.heartbeat('sim-a', 7)).toMatchObject({ id: 'sim-a' });
      expect(await client.heartbeat('sim-a')).toMatchObject({ id: 'sim-a' });
      await client.deregister('sim-a');
      expect(await client.heartbeat('sim-a', 0)).toBe('unknown');
      await client.deregister('sim-a'); // already gone: fine
      expect(registry.seen.map((s) => `${s.method} ${s.path} ${JSON.stringify(s.body)}`)).toEqual([
        'POST /v1/backends {"id":"sim-a","pool":"p1","url":"http://10.0.0.5:8101","weight":2}',
        'POST /v1/backends/sim-a/heartbeat {"active":7}',
        'POST /v1/backends/sim-a/heartbeat {}',
        'DELETE /v1/backends/sim-a undefined',
        'POST /v1/backends/sim-a/heartbeat {"active":0}',
        'DELETE /v1/backends/sim-a undefined',
      ]);
      expect(new Set(registry.seen.map((s) => s.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
      expect(registry.seen.filter((s) => s.method === 'POST').every((s) => s.contentType?.startsWith('application/json'))).toBe(true);
    } finally {
      await registry.close();
    }
  });

  it('turns a refusal into a RegistryError with the status and detail, never the token', async () => {
    const registry = await startFakeRegistry();
    try {
      const client = new HttpRegistryClient({ baseUrl: registry.url, token: 'wrong-token-but-long-enough' });
      const err = await client.register({ id: 'sim-a', url: 'http://10.0.0.5:8101' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err).toMatchObject({ code: 'LB_REGISTRY_REFUSED', status: 401 });
      expect((err as Error).message).toBe('registry POST /v1/backends answered 401: a valid bearer token is required');
      expect(JSON.stringify(err)).not.toContain('wrong-token');
      expect((err as Error).cause).toBeUndefined();
    } finally {
      await registry.close();
    }
  });

  it('carries a 429\u2019s Retry-After on the RegistryError, for the agent to wait out', async () => {
    const registry = await startFakeRegistry();
    try {
      const err = await new HttpRegistryClient({ baseUrl: registry.url, token: TOKEN }).heartbeat('busy', 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err).toMatchObject({ code: 'LB_REGISTRY_REFUSED', status: 429, retryAfterMs: 2_000 });
      expect((err as Error).message).toBe('registry POST /v1/backends/busy/heartbeat answered 429: slow down');
    } finally {
      await registry.close();
    }
  });

  it.each<[string | undefined, number | undefined]>([
    ['3', 3_000],
    [' 0 ', 0],
    ['Thu, 01 Jan 2026 00:00:05 GMT', 5_000],
    ['Thu, 01 Jan 2025 00:00:00 GMT', 0], // in the past: at once
    ['86400', 60_000], // bounded: one odd header does not park an agent for a day
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('reads Retry-After %p as %p ms', (header, expected) => {
    expect(parseRetryAfter(header, Date.parse('2026-01-01T00:00:00Z'))).toBe(expected);
  });

  it('reports an unreachable registry and one that does not answer in time', async () => {
    const gone = await startFakeRegistry();
    await gone.close();
    const refused = await new HttpRegistryClient({ baseUrl: gone.url, token: TOKEN }).heartbeat('x', 1).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'LB_REGISTRY_UNREACHABLE' });
    expect((refused as Error).message).toContain('ECONNREFUSED');

    const silent = await startFakeRegistry({ hang: true });
    try {
      const late = await new HttpRegistryClient({ baseUrl: silent.url, token: TOKEN, timeoutMs: 200 }).deregister('x').catch((e: unknown) => e);
      expect(late).toMatchObject({ code: 'LB_REGISTRY_UNREACHABLE' });
      expect((late as Error).message).toBe(`registry DELETE ${silent.url}/v1/backends/x: no answer within 200 ms`);
    } finally {
      await silent.close();
    }
  });
});

describe('BackendAgent over HTTP', () => {
  it('registers, beats with the count, re-registers with the same id after a 404, deregisters on stop', async () => {
    const registry = await startFakeRegistry({ heartbeatIntervalMs: 50 });
    const agent = new BackendAgent({
      client: new HttpRegistryClient({ baseUrl: registry.url, token: TOKEN }),
      registration: { id: 'sim-b', pool: 'p1', url: 'http://10.0.0.6:8101' },
    });
    try {
      await agent.start();
      expect(agent.state).toBe('registered');
      agent.setActive(3);
      await eventually(() => registry.seen.some((s) => s.path === '/v1/backends/sim-b/heartbeat' && (s.body as { active?: number }).active === 3), 5_000, 'a beat carrying 3');

      registry.known.delete('sim-b'); // evicted behind the agent's back
      await eventually(() => registry.known.has('sim-b'), 5_000, 're-registration');
      const registrations = registry.seen.filter((s) => s.method === 'POST' && s.path === '/v1/backends');
      expect(registrations.map((s) => (s.body as { id: string }).id)).toEqual(['sim-b', 'sim-b']);
      const miss = registry.seen.findIndex((s) => s.path === '/v1/backends/sim-b/heartbeat' && s.status === 404);
      expect(miss).toBeGreaterThanOrEqual(0);
      expect(registry.seen.slice(miss + 1).some((s) => s.path === '/v1/backends' && s.status === 201)).toBe(true);

      await agent.stop();
      expect(registry.seen.at(-1)).toMatchObject({ method: 'DELETE', path: '/v1/backends/sim-b' });
      expect(registry.known.has('sim-b')).toBe(false);
    } finally {
      await agent.stop();
      await registry.close();
    }
  });
});
