import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { BalancerStore } from '../store/load-store';
import { MemoryBalancerStore } from '../store/memory/memory-balancer-store';
import { RedisBalancerStore } from '../store/redis/redis-balancer-store';
import type { RedisConnection } from '../store/redis/redis-connection';
import { TerminusModule } from '@nestjs/terminus';
import { StoreHealthIndicator } from './store-health.indicator';
import { BALANCER_STORE } from './tokens';

export interface BalancingModuleOptions {
  /** Use Redis (the shared view); without it and without `store`, an in-memory store. */
  readonly redis?: RedisConnection;
  readonly keyPrefix?: string;
  /** A store made by the caller (the standalone process shares one memory store); the caller closes it. */
  readonly store?: BalancerStore;
}

const STORE_OWNERSHIP = Symbol('STORE_OWNERSHIP');

/** Closes the store on shutdown if this module made it. */
class StoreOwner implements OnApplicationShutdown {
  constructor(
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    @Inject(STORE_OWNERSHIP) private readonly owned: boolean,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.owned) await this.store.close();
  }
}

@Global()
@Module({})
export class BalancingModule {
  static forRoot(options: BalancingModuleOptions): DynamicModule {
    const owned = !options.store;
    const store =
      options.store ??
      (options.redis
        ? RedisBalancerStore.connect(options.redis, { keyPrefix: options.keyPrefix })
        : new MemoryBalancerStore());
    return {
      module: BalancingModule,
      imports: [TerminusModule],
      providers: [
        { provide: BALANCER_STORE, useValue: store },
        { provide: STORE_OWNERSHIP, useValue: owned },
        StoreOwner,
        StoreHealthIndicator,
      ],
      exports: [BALANCER_STORE, StoreHealthIndicator],
    };
  }
}
