export * from './env';
export * from './logger';
export * from './problem';
export * from './problem.filter';
export * from './nest-logging';
export * from './main-helpers';
export * from './request-id';
export * from './listener-timeouts';
