import { Controller, Get, Header, Inject } from '@nestjs/common';
import { BackendIdentity } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import { LoadReporting } from '../reporting/load-reporting.service';
import { BACKEND_SIM_CONFIG } from '../tokens';
import { ActiveConnections } from '../traffic/active-connections';
import { WorkerSlots } from '../work/worker-slots';

/** What this backend is and how busy it is right now (not counted as traffic itself). */
@Controller('info')
export class InfoController {
  private readonly startedAt = new Date().toISOString();

  constructor(
    @Inject(BACKEND_SIM_CONFIG) private readonly config: BackendSimConfig,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
    private readonly reporting: LoadReporting,
    private readonly slots: WorkerSlots,
  ) {}

  @Get()
  @Header('cache-control', 'no-store')
  info() {
    const me = this.identity.current;
    return {
      id: me.id,
      url: me.url,
      publicUrl: me.publicUrl,
      pool: me.pool,
      weight: me.weight,
      slowdown: this.config.BACKEND_SLOWDOWN,
      active: this.connections.active,
      served: this.connections.served,
      ...this.slots.stats, // slots (null: unlimited), running, queued, queueWait {count, totalMs, maxMs}
      // Integral of `active` over time (request x ms) and the time it covers, on one clock: a
      // benchmark sampling twice gets the time-averaged load as delta activeIntegralMs / delta uptimeMs.
      activeIntegralMs: round3(this.connections.activeIntegralMs),
      uptimeMs: round3(this.connections.uptimeMs),
      requireGatewayToken: this.config.REQUIRE_GATEWAY_TOKEN,
      reporting: this.reporting.mode,
      registration: this.reporting.agentState ?? 'off',
      startedAt: this.startedAt,
    };
  }
}

const round3 = (n: number) => Math.round(n * 1_000) / 1_000;
