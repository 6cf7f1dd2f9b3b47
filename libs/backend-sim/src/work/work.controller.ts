import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { problemFromZod, ProblemError } from '@lb/runtime';
import { BackendIdentity } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import { BACKEND_SIM_CONFIG } from '../tokens';
import { ActiveConnections } from '../traffic/active-connections';
import { scaledDuration, workQuery } from './work-query';
import { burnCpu, waitUnlessClosed } from './simulated-work';

/**
 * /work simulates a slow request (I/O wait: the backend stays responsive), /cpu a compute-heavy one
 * (the event loop is blocked). Both take ?ms=N, scaled by BACKEND_SLOWDOWN. The reply is written
 * by hand so that nothing is sent to a client that already left.
 */
@Controller()
export class WorkController {
  private readonly query: ReturnType<typeof workQuery>;

  constructor(
    @Inject(BACKEND_SIM_CONFIG) private readonly config: BackendSimConfig,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
  ) {
    this.query = workQuery(config.BACKEND_MAX_WORK_MS);
  }

  @Get('work')
  async work(@Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const ms = this.parseMs(query);
    const durationMs = scaledDuration(ms, this.config.BACKEND_SLOWDOWN);
    const started = performance.now();
    if (!(await waitUnlessClosed(durationMs, reply.raw))) return; // client gone: timer already cleared
    this.send(reply, { kind: 'work', ms, durationMs, tookMs: Math.round(performance.now() - started) });
  }

  @Get('cpu')
  cpu(@Query() query: unknown, @Res() reply: FastifyReply): void {
    const ms = this.parseMs(query);
    const durationMs = scaledDuration(ms, this.config.BACKEND_SLOWDOWN);
    const started = performance.now();
    const rounds = burnCpu(durationMs);
    this.send(reply, { kind: 'cpu', ms, durationMs, tookMs: Math.round(performance.now() - started), rounds });
  }

  private parseMs(query: unknown): number {
    const parsed = this.query.safeParse(query ?? {});
    if (!parsed.success) throw new ProblemError(problemFromZod(parsed.error, 'query'));
    return parsed.data.ms;
  }

  private send(reply: FastifyReply, result: Record<string, unknown>): void {
    if (reply.raw.destroyed) return;
    void reply
      .header('cache-control', 'no-store')
      .send({ id: this.identity.id, pool: this.config.BACKEND_POOL, ...result, slowdown: this.config.BACKEND_SLOWDOWN, active: this.connections.active });
  }
}
