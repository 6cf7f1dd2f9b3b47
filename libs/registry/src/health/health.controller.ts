import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { StoreHealthIndicator } from '@lb/balancing/nest';
import { problem, ProblemError } from '@lb/runtime';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';

/** GET /health: 200 while the store answers, else 503 with the checks that failed. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly store: StoreHealthIndicator,
  ) {}

  @Public()
  @Get()
  async check(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.store.check()]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as Partial<HealthCheckResult>;
      throw new ProblemError(problem(503, 'unhealthy', 'the load store does not answer', { checks: result.details ?? {} }));
    }
  }
}
