import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { LoadReporting } from '../reporting/load-reporting.service';

/**
 * Liveness (`/health/live`) says only that the process answers. Readiness (`/health/ready`, and
 * `/health`, its summary) says the backend has joined its pool: registered with the registry when
 * it runs the agent. Neither depends on Redis or the registry being up right now: an outage of
 * either must not make an orchestrator restart healthy backends (the agent retries on its own),
 * and a backend that already joined keeps serving.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly reporting: LoadReporting,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get()
  @HealthCheck()
  summary() {
    return this.ready();
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const indicator = this.indicators.check('registration');
        const mode = this.reporting.mode;
        if (mode !== 'agent') return indicator.up({ mode });
        return this.reporting.everRegistered
          ? indicator.up({ mode, state: this.reporting.agentState })
          : indicator.down({ mode, state: this.reporting.agentState, message: 'not registered with the registry yet' });
      },
    ]);
  }
}
