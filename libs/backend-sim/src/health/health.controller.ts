import { Controller, Get, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { StoreHealthIndicator } from '@lb/balancing/nest';

/**
 * /health: the process answers, and the store is reachable when this backend reports to one.
 * The registry is left out on purpose: a registry outage must not make an orchestrator restart
 * healthy backends (the agent keeps retrying on its own).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @Optional() private readonly store?: StoreHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    const store = this.store;
    return this.health.check(store ? [() => store.check()] : []);
  }
}
