import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackendRecord } from '@lb/balancing';
import { MemoryBalancerStore } from '@lb/balancing';
import { eventually, openWebSocket, startPlainBackend, whenClosed, type PlainBackend } from '@lb/balancing/testing';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { loadConfig } from '@lb/runtime';
import WebSocket from 'ws';

const record = (id: string, url: string): BackendRecord => ({ id, pool: 'default', url, publicUrl: url, weight: 1, state: 'active', registeredAt: 0, metadata: {} });
const start = (store: MemoryBalancerStore, env: Record<string, string> = {}) =>
  bootstrapGateway(
    resolveGatewayConfig(loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env })),
    { store },
  );

/** Limits a user relies on: a session cap with a clear answer, idle sessions closed, and a slow reader that slows the backend instead of filling the gateway's memory. */
describe('gateway limits', () => {
  let store: MemoryBalancerStore;
  let gateway: RunningGateway | undefined;
  let backend: PlainBackend | undefined;
  let firehose: Server | undefined;

  beforeEach(() => {
    store = new MemoryBalancerStore();
  });

  afterEach(async () => {
    await gateway?.close();
    await backend?.close();
    if (firehose) {
      firehose.closeAllConnections();
      await new Promise((r) => firehose?.close(r));
    }
    gateway = backend = firehose = undefined;
  });

  it('answers 503 problem+json past GATEWAY_MAX_SESSIONS, and takes sessions again once one ends', async () => {
    backend = await startPlainBackend('b1');
    await store.register(record('b1', backend.url), 60_000);
    gateway = await start(store, { GATEWAY_MAX_SESSIONS: '2' });
    const url = `${gateway.trafficUrl.replace('http', 'ws')}/ws`;
    const first = await openWebSocket(url);
    const second = await openWebSocket(url);
    const refused = await new Promise<{ status: number; type: string }>((resolve) => {
      const ws = new WebSocket(url);
      ws.once('error', () => undefined);
      ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) }));
    });
    expect(refused).toEqual({ status: 503, type: 'application/problem+json' });
    const ended = whenClosed(first.ws);
    first.ws.close();
    await ended;
    await eventually(() => backend?.active() === 1, 2_000, 'one session left');
    const third = await openWebSocket(url);
    expect(third.backendId).toBe('b1');
    second.ws.terminate();
    third.ws.terminate();
  });

  it('closes a WebSocket that stays silent past GATEWAY_SESSION_IDLE_TIMEOUT_MS and gives its slot back', async () => {
    backend = await startPlainBackend('b1');
    await store.register(record('b1', backend.url), 60_000);
    gateway = await start(store, { GATEWAY_SESSION_IDLE_TIMEOUT_MS: '300' });
    const { ws } = await openWebSocket(`${gateway.trafficUrl.replace('http', 'ws')}/ws`);
    await whenClosed(ws);
    await eventually(async () => backend?.active() === 0 && (await store.get('default', 'b1'))?.active === 0, 2_000, 'session counted off');
  });

  it('lets a client that does not read slow the backend down instead of buffering the answer', async () => {
    const CHUNK = Buffer.alloc(64 * 1024, 120);
    let written = 0;
    firehose = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-backend-id': 'hose' });
      const pump = () => {
        while (written < 256 * 1024 * 1024) {
          written += CHUNK.length;
          if (!res.write(CHUNK)) {
            res.once('drain', pump); // what backpressure looks like to a backend
            return;
          }
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((r) => firehose?.listen(0, '127.0.0.1', r));
    await store.register(record('hose', `http://127.0.0.1:${(firehose.address() as AddressInfo).port}`), 60_000);
    gateway = await start(store);
    const req = httpRequest(`${gateway.trafficUrl}/big`, { agent: false });
    req.on('error', () => undefined);
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => req.once('response', resolve).end());
    res.pause(); // a reader that has stopped reading
    await new Promise((r) => setTimeout(r, 1_000));
    // Socket buffers on both hops hold a few MiB at most; without backpressure the backend would
    // have pushed the whole 256 MiB into the gateway by now.
    expect(written).toBeLessThan(32 * 1024 * 1024);
    req.destroy();
  });
});
