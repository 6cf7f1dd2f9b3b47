import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Agent } from 'undici';
import WebSocket from 'ws';
import { call, eventually, nextMessage, openWebSocket as openSocket, testAgent, whenClosed as closed } from '@lb/balancing/testing';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { loadConfig } from '@lb/runtime';

const baseEnv = { BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_REGISTER: 'false', LOG_LEVEL: 'silent' };

function start(env: Record<string, string> = {}): Promise<RunningBackendSim> {
  return bootstrapBackendSim(loadConfig(BackendSimEnv, { ...baseEnv, ...env }));
}

interface Info {
  active: number;
  served: number;
  slots: number | null;
  running: number;
  queued: number;
  activeIntegralMs: number;
  uptimeMs: number;
  queueWait: { count: number; totalMs: number; maxMs: number };
}

const wsUrl = (sim: RunningBackendSim, path = '/ws') => `${sim.url.replace('http', 'ws')}${path}`;

/** An upgrade the server refuses: its status, headers and problem body. */
function refusedUpgrade(url: string): Promise<{ status: number; headers: IncomingMessage['headers']; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => reject(new Error('should not open')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let raw = '';
      res.on('data', (c) => (raw += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(raw) as Record<string, unknown> }));
    });
  });
}


/** A GET whose response is read as it streams; destroy() drops the connection as a client that gives up. */
function streamingGet(url: string): { response: Promise<IncomingMessage>; destroy(): void } {
  const req = httpRequest(url, { agent: false });
  req.on('error', () => undefined); // the destroy below
  const response = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
  req.end();
  return { response, destroy: () => req.destroy() };
}

const firstChunk = (res: IncomingMessage) => new Promise<string>((resolve) => res.once('data', (c: Buffer) => resolve(c.toString())));
const rest = (res: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c.toString()));
    res.once('end', () => resolve(text));
  });

describe('backend-sim sessions', () => {
  let sim: RunningBackendSim;
  let agent: Agent;
  const sockets: WebSocket[] = [];
  const info = async () => (await call(agent, `${sim.url}/info`)).json<Info>();
  const idle = (what: string) => eventually(async () => (await info()).active === 0, 5_000, what);

  beforeAll(async () => {
    sim = await start({ BACKEND_SLOWDOWN: '3' }); // sessions ignore the slowdown
    agent = testAgent();
  });

  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
  });

  afterAll(async () => {
    await agent.close();
    await sim.close();
  });

  describe('GET /ws', () => {
    it('echoes text and a 64 KiB binary frame unchanged, naming the backend on the 101', async () => {
      const { ws, backendId } = await openSocket(wsUrl(sim));
      sockets.push(ws);
      expect(backendId).toBe(sim.id);
      const text = nextMessage(ws);
      ws.send('hello, backend ✓');
      expect(await text).toEqual({ data: Buffer.from('hello, backend ✓'), isBinary: false });
      const payload = randomBytes(64 * 1024);
      const binary = nextMessage(ws);
      ws.send(payload);
      const echoed = await binary;
      expect(echoed.isBinary).toBe(true);
      expect(echoed.data.equals(payload)).toBe(true);
    });

    it('sends `tick <n>` every tickMs', async () => {
      const { ws } = await openSocket(wsUrl(sim, '/ws?tickMs=20'));
      sockets.push(ws);
      const ticks: string[] = [];
      ws.on('message', (data) => ticks.push(data.toString()));
      await eventually(() => ticks.length >= 3, 5_000, '3 ticks');
      expect(ticks.slice(0, 3)).toEqual(['tick 1', 'tick 2', 'tick 3']);
    });

    it('closes with the code and reason asked for, and counts the session off', async () => {
      const { ws } = await openSocket(wsUrl(sim));
      sockets.push(ws);
      expect((await info()).active).toBe(1);
      const done = closed(ws);
      ws.send('close:4001:backend says bye');
      expect(await done).toEqual({ code: 4001, reason: 'backend says bye' });
      await idle('0 active after the server closed');
    });

    it('answers a close code it may not send with an error frame and stays open', async () => {
      const { ws } = await openSocket(wsUrl(sim));
      sockets.push(ws);
      const reply = nextMessage(ws);
      ws.send('close:1005:reserved');
      expect((await reply).data.toString()).toMatch(/^error: /);
      expect(ws.readyState).toBe(WebSocket.OPEN);
    });

    it('is one active connection while open, and none after a clean close or a reset', async () => {
      const before = await info();
      const a = await openSocket(wsUrl(sim));
      const b = await openSocket(wsUrl(sim));
      sockets.push(a.ws, b.ws);
      expect((await info()).active).toBe(2);
      const done = closed(a.ws);
      a.ws.close(4002, 'client says bye');
      expect((await done).code).toBe(4002); // the server answers with the client's code
      await eventually(async () => (await info()).active === 1, 5_000, '1 active after a clean close');
      b.ws.terminate(); // a reset: no close frame
      await idle('0 active after a reset');
      expect((await info()).served).toBe(before.served + 1); // the reset one did not complete
    });

    it('refuses upgrades elsewhere (404) and a bad tickMs (400), as problem+json, counting nothing', async () => {
      const elsewhere = await refusedUpgrade(wsUrl(sim, '/chat'));
      expect(elsewhere.status).toBe(404);
      expect(elsewhere.headers['content-type']).toBe('application/problem+json');
      expect(elsewhere.headers['x-backend-id']).toBe(sim.id);
      const bad = await refusedUpgrade(wsUrl(sim, '/ws?tickMs=0'));
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ status: 400, field: 'tickMs' });
      const plain = await call(agent, `${sim.url}/ws`);
      expect(plain.status).toBe(426);
      expect(plain.headers.upgrade).toBe('websocket');
      await idle('0 active after refused upgrades');
    });
  });

  describe('GET /sse', () => {
    it('flushes each event as it happens: the first arrives while the stream is still open', async () => {
      const started = performance.now();
      const stream = streamingGet(`${sim.url}/sse?events=3&intervalMs=250`);
      const res = await stream.response;
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(res.headers['x-backend-id']).toBe(sim.id);
      const first = await firstChunk(res);
      expect(res.complete).toBe(false); // still sending
      expect(first).toMatch(/^id: 1\ndata: \{"n":1,/);
      expect((await info()).active).toBe(1);
      const text = first + (await rest(res));
      const events = text.split('\n\n').filter(Boolean);
      expect(events.map((e) => e.split('\n')[0])).toEqual(['id: 1', 'id: 2', 'id: 3']);
      expect(JSON.parse(events[2].split('\ndata: ')[1])).toMatchObject({ n: 3, id: sim.id });
      expect(performance.now() - started).toBeGreaterThanOrEqual(495); // two intervals, unscaled by BACKEND_SLOWDOWN
      await idle('0 active after the stream ended');
    });

    it('streams until the client leaves (events=0), then stops and counts off', async () => {
      const before = await info();
      const stream = streamingGet(`${sim.url}/sse?intervalMs=20`);
      const res = await stream.response;
      let events = 0;
      res.on('data', (c: Buffer) => (events += c.toString().split('\n\n').length - 1));
      await eventually(() => events >= 3, 5_000, '3 events');
      expect((await info()).active).toBe(1);
      stream.destroy();
      await idle('0 active after the client left');
      expect((await info()).served).toBe(before.served);
    });

    it('refuses bad numbers with a 400 naming the field', async () => {
      for (const [query, field] of [
        ['events=-1', 'events'],
        ['events=2&intervalMs=soon', 'intervalMs'],
        ['intervalMs=0', 'intervalMs'],
      ]) {
        const res = await call(agent, `${sim.url}/sse?${query}`);
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json()).toMatchObject({ field });
      }
    });
  });

  describe('GET /session', () => {
    it('answers the long poll after holdMs (unscaled), with the time it queued', async () => {
      const started = performance.now();
      const res = await call(agent, `${sim.url}/session?holdMs=200`);
      expect(performance.now() - started).toBeGreaterThanOrEqual(195);
      expect(res.status).toBe(200);
      expect(res.headers['x-queue-wait-ms']).toBe('0');
      expect(res.json()).toMatchObject({ id: sim.id, kind: 'session', holdMs: 200, queueWaitMs: 0 });
    });

    it('counts a client that gives up off again and refuses a bad holdMs', async () => {
      const before = await info();
      const poll = streamingGet(`${sim.url}/session?holdMs=600000`);
      await eventually(async () => (await info()).active === 1, 5_000, 'the poll is active');
      poll.destroy();
      await idle('0 active after the abort');
      expect((await info()).served).toBe(before.served);
      expect((await call(agent, `${sim.url}/session?holdMs=-3`)).json()).toMatchObject({ status: 400, field: 'holdMs' });
    });
  });
});

describe('backend-sim worker pool (BACKEND_SLOTS=2)', () => {
  let sim: RunningBackendSim;
  let agent: Agent;
  const info = async () => (await call(agent, `${sim.url}/info`)).json<Info>();

  beforeAll(async () => {
    sim = await start({ BACKEND_SLOTS: '2' });
    agent = testAgent();
  });

  afterAll(async () => {
    await agent.close();
    await sim.close();
  });

  it('runs 2 of 5 at once, queues 3 in order, and tells each how long it waited', async () => {
    const before = await info();
    expect(before).toMatchObject({ slots: 2, running: 0, queued: 0 });
    const all = Array.from({ length: 5 }, () => call(agent, `${sim.url}/work?ms=300`));
    await eventually(async () => (await info()).queued === 3, 5_000, '3 queued');
    expect(await info()).toMatchObject({ running: 2, queued: 3, active: 5 });
    const responses = await Promise.all(all);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const waits = responses.map((r) => Number(r.headers['x-queue-wait-ms']));
    expect(waits.every(Number.isInteger)).toBe(true);
    expect(waits.filter((w) => w > 0).length).toBeGreaterThanOrEqual(3);
    const after = await info();
    expect(after).toMatchObject({ running: 0, queued: 0, active: 0, served: before.served + 5 });
    expect(after.queueWait.count).toBe(before.queueWait.count + 5);
    // All five were in before the first round ended, so the fifth waited out all of the second.
    expect(after.queueWait.maxMs).toBeGreaterThanOrEqual(295);
    // Five runs of 300 ms, plus that wait, at least (request x ms).
    expect(after.activeIntegralMs - before.activeIntegralMs).toBeGreaterThanOrEqual(1_750);
    expect(after.uptimeMs).toBeGreaterThan(before.uptimeMs);
  });

  it('takes a request whose client leaves out of the queue', async () => {
    const before = await info();
    const busy = [call(agent, `${sim.url}/work?ms=600`), call(agent, `${sim.url}/work?ms=600`)];
    await eventually(async () => (await info()).running === 2, 5_000, 'both slots taken');
    const quitter = streamingGet(`${sim.url}/work?ms=1`);
    await eventually(async () => (await info()).queued === 1, 5_000, 'queued');
    const behind = [call(agent, `${sim.url}/cpu?ms=1`), call(agent, `${sim.url}/session?holdMs=1`)];
    await eventually(async () => (await info()).queued === 3, 5_000, '3 queued');
    quitter.destroy();
    await eventually(async () => (await info()).queued === 2, 5_000, 'the quitter left the queue');
    expect((await info()).active).toBe(4);
    const responses = await Promise.all([...busy, ...behind]);
    for (const r of responses) expect(r.headers['x-queue-wait-ms']).toMatch(/^\d+$/);
    expect(Number(responses[3].headers['x-queue-wait-ms'])).toBeGreaterThan(0);
    const after = await info();
    expect(after).toMatchObject({ running: 0, queued: 0, active: 0, served: before.served + 4 });
    expect(after.queueWait.count).toBe(before.queueWait.count + 4); // the quitter never ran
  });
});

describe('backend-sim shutdown', () => {
  it('closes open WebSockets with 1001 and ends open event streams', async () => {
    const sim = await start();
    const { ws } = await openSocket(wsUrl(sim));
    const wsClosed = closed(ws);
    const stream = streamingGet(`${sim.url}/sse?intervalMs=50`);
    const res = await stream.response;
    const ended = rest(res);
    await sim.close();
    expect(await wsClosed).toEqual({ code: 1001, reason: 'backend shutting down' });
    await expect(ended).resolves.toContain('id: 1\n');
  });
});
