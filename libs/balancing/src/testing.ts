export * from './testing/start-redis';
export * from './testing/start-sentinel';
export * from './testing/test-redis';
export * from './store/load-store.contract';
export * from './testing/plain-backend';
export * from './testing/http-client';
export * from './testing/ws-client';
export * from './testing/tls-certificates';
