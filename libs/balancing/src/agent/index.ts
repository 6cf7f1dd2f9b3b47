export * from './agent-logger';
export * from './backoff';
export * from './backend-agent';
export * from './coalesced-reporter';
export * from './http-registry-client';
export * from './registry-client';
export * from './scheduler';
