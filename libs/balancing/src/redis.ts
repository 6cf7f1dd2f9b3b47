export * from './store/redis/redis-balancer-store';
export * from './store/redis/keys';
