import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from '@lb/runtime';
import { problemFromZod, ProblemError } from '@lb/runtime';
import { BackendIdentity } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import { sessionQuery } from '../session/session-query';
import { BACKEND_SIM_CONFIG } from '../tokens';
import { ActiveConnections } from '../traffic/active-connections';
import { scaledDuration, workQuery } from './work-query';
import { burnCpu, waitUnlessClosed } from './simulated-work';
import { WorkerSlots } from './worker-slots';

/** How long the request waited for a worker slot (BACKEND_SLOTS), on every answer that took one. */
export const QUEUE_WAIT_HEADER = 'x-queue-wait-ms';

/**
 * /work simulates a slow request (I/O wait: the backend stays responsive), /cpu a compute-heavy one
 * (the event loop is blocked), both for ?ms=N scaled by BACKEND_SLOWDOWN; /session a long poll held
 * ?holdMs=N (not scaled: it waits for an event, not for work). All three take a worker slot
 * (BACKEND_SLOTS) first, waiting in line when none is free. Replies are written by hand so that
 * nothing is sent to a client that already left.
 */
@Controller()
export class WorkController {
  private readonly workQuery: ReturnType<typeof workQuery>;
  private readonly sessionQuery: ReturnType<typeof sessionQuery>;

  constructor(
    @Inject(BACKEND_SIM_CONFIG) private readonly config: BackendSimConfig,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
    private readonly slots: WorkerSlots,
  ) {
    this.workQuery = workQuery(config.BACKEND_MAX_WORK_MS);
    this.sessionQuery = sessionQuery(config.BACKEND_MAX_WORK_MS);
  }

  @Get('work')
  async work(@Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const { ms } = parseQuery(this.workQuery, query);
    const durationMs = scaledDuration(ms, this.config.BACKEND_SLOWDOWN);
    const slot = await this.slots.acquire(reply.raw);
    if (!slot) return; // client gone while queued: it already left the queue
    const started = performance.now();
    const done = await waitUnlessClosed(durationMs, reply.raw); // false: client gone, timer cleared
    slot.release();
    if (done) this.send(reply, slot.waitedMs, { kind: 'work', ms, durationMs, tookMs: Math.round(performance.now() - started) });
  }

  @Get('cpu')
  async cpu(@Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const { ms } = parseQuery(this.workQuery, query);
    const durationMs = scaledDuration(ms, this.config.BACKEND_SLOWDOWN);
    const slot = await this.slots.acquire(reply.raw);
    if (!slot) return;
    const started = performance.now();
    const rounds = burnCpu(durationMs);
    slot.release();
    this.send(reply, slot.waitedMs, { kind: 'cpu', ms, durationMs, tookMs: Math.round(performance.now() - started), rounds });
  }

  /** A long poll: answered after holdMs; a client that leaves first clears the timer (and counts off). */
  @Get('session')
  async session(@Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const { holdMs } = parseQuery(this.sessionQuery, query);
    const slot = await this.slots.acquire(reply.raw);
    if (!slot) return;
    const started = performance.now();
    const done = await waitUnlessClosed(holdMs, reply.raw);
    slot.release();
    if (done) this.send(reply, slot.waitedMs, { kind: 'session', holdMs, tookMs: Math.round(performance.now() - started) });
  }

  private send(reply: FastifyReply, waitedMs: number, result: Record<string, unknown>): void {
    if (reply.raw.destroyed) return;
    void reply
      .header('cache-control', 'no-store')
      .header(QUEUE_WAIT_HEADER, String(waitedMs))
      .send({
        id: this.identity.id,
        pool: this.config.BACKEND_POOL,
        ...result,
        queueWaitMs: waitedMs,
        slowdown: this.config.BACKEND_SLOWDOWN,
        active: this.connections.active,
      });
  }
}

/** A 400 problem naming the offending query field. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const parsed = schema.safeParse(query ?? {});
  if (!parsed.success) throw new ProblemError(problemFromZod(parsed.error, 'query'));
  return parsed.data;
}
