import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { StoreHealthIndicator } from '@lb/balancing/nest';
import { TrafficServer } from '../traffic/traffic-server';

/** Admin port /health: the store (Redis or memory) and the traffic listener. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly store: StoreHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly traffic: TrafficServer,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.store.check(),
      () => {
        const indicator = this.indicators.check('traffic');
        return this.traffic.listening ? indicator.up({ port: this.traffic.port }) : indicator.down({ message: 'not listening' });
      },
    ]);
  }
}
