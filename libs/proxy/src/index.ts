export * from './hop-by-hop';
export * from './upstream-failure';
export * from './upstream-pools';
export * from './forward-request';
export * from './body-limit';
export * from './forward-upgrade';
export * from './chunk-coalescer';
export * from './unforwardable';
