export * from './store/redis/redis-balancer-store';
export * from './store/redis/keys';
export * from './store/redis/redis-connection';
