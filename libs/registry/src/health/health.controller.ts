import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { StoreHealthIndicator } from '@lb/balancing/nest';
import { problem, ProblemError } from '@lb/runtime';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';

/**
 * Liveness (`/health/live`: restart me if this fails) says only that the process answers: a
 * Redis outage must restart nothing. Readiness (`/health/ready`, and `/health`, its summary) needs
 * the store, which holds every record the registry serves: 200 while it answers, else 503 with
 * the checks that failed.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly store: StoreHealthIndicator,
  ) {}

  @Public()
  @Get('live')
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Public()
  @Get()
  summary(): Promise<HealthCheckResult> {
    return this.ready();
  }

  @Public()
  @Get('ready')
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.store.check()]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as Partial<HealthCheckResult>;
      throw new ProblemError(problem(503, 'unhealthy', 'the load store does not answer', { checks: result.details ?? {} }));
    }
  }
}
