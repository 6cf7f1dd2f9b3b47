import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocket, WebSocketServer } from 'ws';
import { problem, problemFromZod, writeRawProblem } from '@lb/runtime';
import { BackendIdentity } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import { BACKEND_SIM_CONFIG } from '../tokens';
import { ActiveConnections } from '../traffic/active-connections';
import { GatewayTokenCheck, refusalProblem } from '../traffic/gateway-token-check';
import { queryOf, webSocketQuery } from './session-query';

export const WEBSOCKET_PATH = '/ws';
/** A text frame `close:<code>:<reason>` makes the server close with that code and reason (a test hook). */
const CLOSE_HOOK = /^close:(\d{1,5}):([\s\S]*)$/;
/** How long sessions get at shutdown to answer the server's close frame before they are cut. */
const SHUTDOWN_GRACE_MS = 1_000;

/**
 * `GET /ws`: a WebSocket session on the Fastify server's own port (ws in noServer mode on the
 * 'upgrade' event; Fastify never sees upgrades). Echoes text and binary frames unchanged;
 * `?tickMs=N` also sends `tick <n>` every N ms; `close:<code>:<reason>` closes from the server.
 *
 * A session is exactly one active connection from the upgrade request until its socket closes,
 * however it ends (close frame from either side, client reset, error, failed handshake). The 101
 * carries `x-backend-id`. Upgrades to any other path get 404, a bad `tickMs` 400 (problem+json).
 * With REQUIRE_GATEWAY_TOKEN an upgrade needs a gateway token like any request (redirect mode is
 * meant for plain HTTP: backends behind a proxy-mode gateway, where WebSockets go, run without it).
 * Sessions open at shutdown are closed with 1001.
 */
@Injectable()
export class WebSocketSessions implements OnModuleInit, BeforeApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly query: ReturnType<typeof webSocketQuery>;
  private server: Server | undefined;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head);

  constructor(
    @Inject(BACKEND_SIM_CONFIG) config: BackendSimConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
    private readonly tokens: GatewayTokenCheck,
  ) {
    this.query = webSocketQuery(config.BACKEND_MAX_WORK_MS);
  }

  onModuleInit(): void {
    this.wss.on('headers', (headers) => headers.push(`x-backend-id: ${this.identity.id}`));
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.server?.off('upgrade', this.onUpgrade);
    const open = [...this.wss.clients];
    if (open.length === 0) return;
    const closed = Promise.all(open.map((ws) => new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve())))));
    for (const ws of open) ws.close(1001, 'backend shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)))]);
    clearTimeout(timer);
    for (const ws of this.wss.clients) ws.terminate();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy()); // Node leaves an upgraded socket without an error listener
    const headers = { 'x-backend-id': this.identity.id };
    let url = req.url ?? '/';
    const path = url.split('?', 1)[0];
    if (path !== WEBSOCKET_PATH) {
      writeRawProblem(socket, problem(404, 'not-found', `no WebSocket endpoint at ${path}: use ${WEBSOCKET_PATH}`), headers);
      return;
    }
    const arrival = this.connections.arrive();
    let upgraded = false;
    socket.once('close', () => upgraded || arrival.close(false)); // once upgraded, the session's close counts it off
    if (this.tokens.required) {
      const check = this.tokens.verify(req.method ?? 'GET', url);
      const refusal = await this.tokens.admit(arrival, check);
      if (refusal) {
        writeRawProblem(socket, refusalProblem(refusal), headers);
        return;
      }
      if (check.ok) url = req.url = check.url;
    } else {
      arrival.admit();
    }
    const parsed = this.query.safeParse(queryOf(url));
    if (!parsed.success) {
      writeRawProblem(socket, problemFromZod(parsed.error, 'query'), headers);
      return;
    }
    if (socket.destroyed) return; // the client left while its token was claimed: already counted off
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      this.serve(ws, parsed.data.tickMs, (completed) => arrival.close(completed));
    });
  }

  private serve(ws: WebSocket, tickMs: number | undefined, done: (completed: boolean) => void): void {
    let ticks = 0;
    const timer = tickMs ? setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(`tick ${++ticks}`), tickMs) : undefined;
    ws.on('error', () => undefined); // a protocol error closes the session (1002/1009...); 'close' follows
    ws.on('message', (data: Buffer, isBinary) => {
      const hook = isBinary ? null : CLOSE_HOOK.exec(data.toString());
      if (!hook) {
        ws.send(data, { binary: isBinary });
        return;
      }
      try {
        ws.close(Number(hook[1]), hook[2]);
      } catch (err) {
        ws.send(`error: ${(err as Error).message}`); // e.g. a code ws may not send, or a reason over 123 bytes
      }
    });
    ws.once('close', (code) => {
      clearInterval(timer);
      done(code !== 1006); // 1006: the connection dropped without a close frame
    });
  }
}
