import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { MemoryBalancerStore, type BackendRecord } from '@lb/balancing';
import { call, eventually, nextMessage, openWebSocket, testAgent } from '@lb/balancing/testing';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';

jest.setTimeout(20_000);

const REGISTRY_TOKEN = randomBytes(24).toString('hex');
/** Short guards, so a slow client is cut long before it could finish sending. */
const HEADERS_TIMEOUT_MS = '300';
const REQUEST_TIMEOUT_MS = '600';
const SLOW = { HTTP_HEADERS_TIMEOUT_MS: HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS: REQUEST_TIMEOUT_MS };

interface RawAnswer {
  /** 0: the connection closed without an answer. */
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A response read off a raw socket until it closed; a chunked body is decoded. */
function parseAnswer(raw: Buffer): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0) };
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  let body = raw.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

/**
 * A raw TCP client: writes `head` at once, then `drip` one byte every `everyMs` (a slow client),
 * and reads until the server closes (it gives up after 5 s of silence, so a server that never answers fails
 * the test instead of hanging it). Returns the answer and how many `drip` bytes it got to send.
 */
function rawClient(port: number, head: Buffer | string, drip = '', everyMs = 50): Promise<{ answer: RawAnswer; dripped: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(5_000, () => socket.destroy());
    const received: Buffer[] = [];
    let dripped = 0;
    const timer = setInterval(() => {
      if (dripped < drip.length && socket.writable) socket.write(drip[dripped++]);
    }, everyMs);
    socket.once('connect', () => socket.write(head));
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', () => undefined); // a reset is an answer too: the connection was cut
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ answer: parseAnswer(Buffer.concat(received)), dripped });
    });
  });
}

/** `data` as a chunked body of 1-byte chunks, framed by hand so nothing batches it on the way out. */
function oneByteChunks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const byte of data) parts.push(Buffer.from([0x31, 0x0d, 0x0a, byte, 0x0d, 0x0a])); // "1\r\n" byte "\r\n"
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/**
 * What a hostile or broken client can send, against real apps on ephemeral ports: bodies in 1-byte
 * chunks, requests that cannot be forwarded as sent, clients that send their headers or body one
 * byte at a time (on every listener: the gateway's traffic and admin ports, the registry, the
 * backend-sim), and credentials in query strings, which must never reach an access log.
 */
describe('hostile input', () => {
  const agent = testAgent();
  const store = new MemoryBalancerStore();
  const registryLog: string[] = [];
  let registry: RunningRegistry;
  let sim: RunningBackendSim;
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await bootstrapRegistry(
      loadConfig(RegistryEnv, { REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', REGISTRY_TOKEN, LOG_LEVEL: 'info', ...SLOW }),
      { store: new MemoryBalancerStore(), logStream: { write: (line: string) => registryLog.push(line) } },
    );
    sim = await bootstrapBackendSim(
      loadConfig(BackendSimEnv, { BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_ID: 'echo', BACKEND_REGISTER: 'false', LOG_LEVEL: 'silent', ...SLOW }),
      { store },
    );
    const record: BackendRecord = { id: 'echo', pool: 'default', url: sim.url, publicUrl: sim.url, weight: 1, state: 'active', registeredAt: Date.now(), metadata: {} };
    await store.register(record, 600_000);
    gateway = await bootstrapGateway(
      resolveGatewayConfig(
        loadConfig(GatewayEnv, { GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LOG_LEVEL: 'silent', GATEWAY_CLIENT_HEADERS_TIMEOUT_MS: HEADERS_TIMEOUT_MS, ...SLOW }),
      ),
      { store },
    );
  });

  afterAll(async () => {
    await gateway.close();
    await sim.close();
    await registry.close();
    await store.close();
    await agent.close();
  });

  const upstreamFailures = async () => {
    const metrics = (await call(agent, `${gateway.adminUrl}/metrics`)).body.toString();
    return metrics.split('\n').filter((line) => line.startsWith('lb_gateway_upstream_failures_total{'));
  };

  it('forwards a body sent in 1-byte chunks, and the echo matches it byte for byte', async () => {
    const data = randomBytes(64 * 1024);
    const { answer } = await rawClient(
      gateway.trafficPort,
      Buffer.concat([Buffer.from('POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'), oneByteChunks(data)]),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['x-backend-id']).toBe('echo');
    expect(answer.body.length).toBe(data.length);
    expect(answer.body.equals(data)).toBe(true);
  });

  // Node accepts these; forwarded, the first failed in undici's dispatch as a 502 counted against
  // the backend, the second lost its gzip coding with the hop-by-hop header (unforwardableReason).
  it.each([
    ['two Host headers', 'GET /echo HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\nConnection: close\r\n\r\n', 400, 'host'],
    ['two Host headers on a WebSocket upgrade', 'GET /ws HTTP/1.1\r\nHost: app.test\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 400, 'host'],
    ['a transfer coding other than chunked', 'POST /echo HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n1\r\nx\r\n0\r\n\r\n', 501, 'transfer-encoding'],
  ])('answers %s with problem+json before any pick, and counts no upstream failure', async (_what, request, status, field) => {
    const { answer } = await rawClient(gateway.trafficPort, request);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer.body.toString())).toMatchObject({ status, field });
    expect(answer.headers['x-backend-id']).toBeUndefined();
    expect(await upstreamFailures()).toEqual([]);
  });

  describe.each([
    ['the gateway traffic port', () => gateway.trafficPort, '/echo'],
    ['the gateway admin port', () => gateway.adminPort, '/health/live'],
    ['the registry', () => registry.port, '/health/live'],
    ['the backend-sim', () => sim.port, '/health'],
  ])('on %s', (_listener, port, path) => {
    it('answers 408 to a client that sends its headers a byte at a time, long before they are complete', async () => {
      const headers = `GET ${path} HTTP/1.1\r\nHost: app.test\r\nX-Slow: ${'a'.repeat(300)}\r\n\r\n`;
      const { answer, dripped } = await rawClient(port(), '', headers);
      expect(dripped).toBeLessThan(headers.length);
      expect(answer.status).toBe(408);
      expect(answer.headers['content-type']).toBe('application/problem+json');
    });

    it('still answers a client that sends its request at once', async () => {
      const { answer } = await rawClient(port(), `GET ${path} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n`);
      expect(answer.status).toBe(200);
    });
  });

  it('answers 408 to a client that sends a body to the registry a byte at a time', async () => {
    const body = JSON.stringify({ url: 'http://127.0.0.1:9', pad: 'x'.repeat(200) });
    const head = `POST /v1/backends HTTP/1.1\r\nHost: registry.test\r\nAuthorization: Bearer ${REGISTRY_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { answer, dripped } = await rawClient(registry.port, head, body);
    expect(dripped).toBeLessThan(body.length);
    expect(answer.status).toBe(408);
  });

  it('never cuts what outlives the request timeout on the backend-sim: long work, a long poll, SSE and a WebSocket', async () => {
    const longerThanTimeout = String(Number(REQUEST_TIMEOUT_MS) * 2);
    const [work, poll, sse] = await Promise.all([
      call(agent, `${sim.url}/work?ms=${longerThanTimeout}`),
      call(agent, `${sim.url}/session?holdMs=${longerThanTimeout}`),
      call(agent, `${sim.url}/sse?events=6&intervalMs=${Number(REQUEST_TIMEOUT_MS) / 3}`),
    ]);
    expect([work.status, poll.status, sse.status]).toEqual([200, 200, 200]);
    expect(sse.body.toString().match(/^data: /gm)).toHaveLength(6);
    const { ws } = await openWebSocket(`${sim.url.replace('http', 'ws')}/ws?tickMs=${Number(REQUEST_TIMEOUT_MS) / 3}`);
    for (let tick = 1; tick <= 6; tick++) expect((await nextMessage(ws)).data.toString()).toBe(`tick ${tick}`);
    const echoed = nextMessage(ws);
    ws.send('still here');
    expect((await echoed).data.toString()).toBe('still here');
    ws.terminate();
  });

  it('keeps a token sent in the query string out of the access log', async () => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    await call(agent, `${registry.url}/v1/backends?token=${secret}&pool=default`, { headers: { 'x-request-id': 'query-token-1' } });
    const accessLine = () => registryLog.find((l) => l.includes('"query-token-1"'));
    await eventually(() => accessLine() !== undefined, 5_000, 'the access line');
    expect(JSON.parse(accessLine() as string)).toMatchObject({ msg: 'request completed', req: { url: '/v1/backends?[redacted]' } });
    expect(registryLog.join('\n')).not.toContain(secret);
  });
});
