import { Controller, Get, Header, Inject } from '@nestjs/common';
import { BackendIdentity } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import { LoadReporting } from '../reporting/load-reporting.service';
import { BACKEND_SIM_CONFIG } from '../tokens';
import { ActiveConnections } from '../traffic/active-connections';

/** What this backend is and how busy it is right now (not counted as traffic itself). */
@Controller('info')
export class InfoController {
  private readonly startedAt = new Date().toISOString();

  constructor(
    @Inject(BACKEND_SIM_CONFIG) private readonly config: BackendSimConfig,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
    private readonly reporting: LoadReporting,
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
      reporting: this.reporting.mode,
      registration: this.reporting.agentState ?? 'off',
      startedAt: this.startedAt,
    };
  }
}
