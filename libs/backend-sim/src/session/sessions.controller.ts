import type { ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { problem, ProblemError } from '@lb/runtime';
import { BackendIdentity } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import { BACKEND_SIM_CONFIG } from '../tokens';
import { parseQuery } from '../work/work.controller';
import { sseQuery } from './session-query';

/**
 * Server-sent events: `GET /sse?events=N&intervalMs=M` sends `id:` + `data:` events, the first at
 * once and then one every M ms, and ends after N (0: when the client leaves). Each event is written
 * (and flushed: no compression, Nagle off) as it happens. The stream is one active connection from
 * request to end, however it ends; a client that leaves stops the timer. Streams still open at
 * shutdown are ended. `GET /ws` without an upgrade gets 426.
 */
@Controller()
export class SessionsController implements BeforeApplicationShutdown {
  private readonly query: ReturnType<typeof sseQuery>;
  private readonly open = new Set<ServerResponse>();

  constructor(
    @Inject(BACKEND_SIM_CONFIG) config: BackendSimConfig,
    private readonly identity: BackendIdentity,
  ) {
    this.query = sseQuery(config.BACKEND_MAX_WORK_MS);
  }

  @Get('sse')
  sse(@Query() query: unknown, @Res() reply: FastifyReply): void {
    const { events, intervalMs } = parseQuery(this.query, query);
    const res = reply.raw;
    if (res.destroyed) return;
    reply.hijack(); // written by hand from here: Fastify sends nothing more
    res.socket?.setNoDelay(true);
    res.writeHead(200, {
      'x-backend-id': this.identity.id,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // tells a buffering proxy (nginx) to pass events through as they come
    });
    const id = this.identity.id;
    let sent = 0;
    const send = () => {
      sent++;
      res.write(`id: ${sent}\ndata: ${JSON.stringify({ n: sent, id, at: new Date().toISOString() })}\n\n`);
      if (events > 0 && sent >= events) {
        stop();
        res.end();
      }
    };
    const timer = setInterval(send, intervalMs);
    const stop = () => {
      clearInterval(timer);
      this.open.delete(res);
    };
    this.open.add(res);
    res.once('close', stop);
    send();
  }

  /** A WebSocket endpoint asked for without the upgrade. */
  @Get('ws')
  webSocketOnly(@Res() reply: FastifyReply): void {
    void reply.header('upgrade', 'websocket');
    throw new ProblemError(problem(426, 'upgrade-required', 'GET /ws is a WebSocket endpoint: send Connection: Upgrade and Upgrade: websocket'));
  }

  beforeApplicationShutdown(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
