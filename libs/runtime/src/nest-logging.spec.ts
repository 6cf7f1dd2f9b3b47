import { Writable } from 'node:stream';
import { Logger as NestLogger } from '@nestjs/common';
import Fastify from 'fastify';
import { createLogger } from './logger';
import { logRequests, PinoNestLogger } from './nest-logging';

/** A pino logger whose JSON lines land in an array. */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', level }, sink) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('PinoNestLogger', () => {
  afterEach(() => NestLogger.overrideLogger(false));

  it("writes Nest's messages with their context, fields and stack", async () => {
    const { lines, logger } = capture();
    NestLogger.overrideLogger(new PinoNestLogger(logger));
    new NestLogger('Sweeper').log('sweep done');
    new NestLogger('BackendSim').log({ id: 'b1', port: 3001 }, 'backend-sim listening');
    new NestLogger('ExceptionsHandler').error('boom', 'Error: boom\n    at somewhere');
    new NestLogger('Quiet').debug('not at info');
    await flush();
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', service: 'test', context: 'Sweeper', msg: 'sweep done' }),
      expect.objectContaining({ level: 'info', context: 'BackendSim', id: 'b1', port: 3001, msg: 'backend-sim listening' }),
      expect.objectContaining({ level: 'error', context: 'ExceptionsHandler', msg: 'boom', stack: 'Error: boom\n    at somewhere' }),
    ]);
  });
});

describe('logRequests', () => {
  it('writes one access line per request with its id, status and query redacted, at warn for 4xx, and none for /health', async () => {
    const { lines, logger } = capture();
    const app = Fastify({ genReqId: (req) => String(req.headers['x-request-id'] ?? 'generated') });
    logRequests(app, logger);
    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/v1/things', async () => ({ things: [] }));
    try {
      await app.inject({ url: '/health' });
      await app.inject({ url: '/v1/things?limit=2&token=s3cret-in-the-query', headers: { 'x-request-id': 'trace-1' } });
      await app.inject({ url: '/missing' });
      await flush();
    } finally {
      await app.close();
    }
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: 'request completed', req: { id: 'trace-1', method: 'GET', url: '/v1/things?[redacted]' }, res: { statusCode: 200 } }),
      expect.objectContaining({ level: 'warn', msg: 'request completed', req: expect.objectContaining({ url: '/missing' }), res: { statusCode: 404 } }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });
});

describe('logRequests for polled paths', () => {
  it('writes health checks, scrapes and heartbeats that succeed at debug, and their failures at warn', async () => {
    const { lines, logger } = capture('debug');
    const app = Fastify();
    logRequests(app, logger);
    app.get('/health/ready', async () => ({ status: 'ok' }));
    app.get('/metrics', async () => '');
    app.post('/v1/backends/:id/heartbeat', async (req, reply) => reply.code((req.params as { id: string }).id === 'gone' ? 404 : 200).send({}));
    try {
      for (const url of ['/health/ready', '/metrics']) await app.inject({ url });
      for (const id of ['b1', 'gone']) await app.inject({ method: 'POST', url: `/v1/backends/${id}/heartbeat`, payload: {} });
      await flush();
    } finally {
      await app.close();
    }
    expect(lines.map((l) => [l.level, (l.req as { url: string }).url])).toEqual([
      ['debug', '/health/ready'],
      ['debug', '/metrics'],
      ['debug', '/v1/backends/b1/heartbeat'],
      ['warn', '/v1/backends/gone/heartbeat'],
    ]);
  });

  it('writes Nest\u2019s start-up chatter at debug', async () => {
    const { lines, logger } = capture('info');
    const nest = new PinoNestLogger(logger);
    nest.log('Mapped {/v1/backends, POST} route', 'RouterExplorer');
    nest.log('registry listening', 'Bootstrap');
    await flush();
    expect(lines.map((l) => l.msg)).toEqual(['registry listening']);
  });
});
