import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BALANCER_STORE } from '@lb/balancing/nest';
import type { EventBus, MembershipEvent } from '@lb/balancing';
import { UpstreamPools } from '@lb/proxy';
import type { Logger } from '@lb/runtime';
import { Picker } from '../traffic/picker';
import { GATEWAY_LOGGER } from '../tokens';

/**
 * Listens to the registry's membership events. Picks never need them (they read the shared store
 * directly), but a backend that left should not keep idle connections open on this gateway.
 */
@Injectable()
export class MembershipWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    @Inject(BALANCER_STORE) private readonly events: EventBus,
    private readonly pools: UpstreamPools,
    private readonly picker: Picker,
    @Inject(GATEWAY_LOGGER) private readonly log: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = await this.events.subscribe((event) => this.onEvent(event));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.unsubscribe?.();
  }

  private onEvent(event: MembershipEvent): void {
    this.log.info({ event }, 'membership changed');
    if (event.type !== 'removed' && event.type !== 'evicted') return;
    const origin = this.picker.originsById.get(event.id);
    if (!origin) return;
    this.picker.originsById.delete(event.id);
    void this.pools.retire(origin);
  }
}
