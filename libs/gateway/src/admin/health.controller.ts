import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { StoreGuard, type BalancerStore } from '@lb/balancing';
import { TrafficServer } from '../traffic/traffic-server';
import { MembershipView } from '../view/membership-view.service';

/**
 * Admin port health. Liveness (restart me if this fails) says only that the process answers.
 * Readiness (send me traffic) needs the traffic listener open and the membership of every routed
 * pool known; a store that does not answer is reported ("degraded") but keeps the gateway ready,
 * because it serves from its local view. `/health` is the readiness summary.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly traffic: TrafficServer,
    private readonly guard: StoreGuard,
    private readonly membership: MembershipView,
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
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
  async ready() {
    // A ping through the guard, so an idle gateway notices a store that went away (and shows it).
    if (this.guard.isUp) await this.guard.call(() => this.store.ping()).catch(() => undefined);
    return this.health.check([
      () => {
        const indicator = this.indicators.check('traffic');
        return this.traffic.listening ? indicator.up({ port: this.traffic.port }) : indicator.down({ message: 'not listening' });
      },
      () => {
        const indicator = this.indicators.check('membership');
        return this.membership.known ? indicator.up() : indicator.down({ message: 'not listed yet: the store has not answered since start' });
      },
      () =>
        this.indicators.check('store').up({
          state: this.guard.state,
          since: new Date(this.guard.stateSince).toISOString(),
          ...(this.guard.isUp ? {} : { message: 'the store does not answer in time: picks come from the local view' }),
        }),
    ]);
  }
}
