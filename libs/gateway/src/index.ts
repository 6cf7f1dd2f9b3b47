export * from './config';
export * from './gateway.module';
export * from './bootstrap';
export * from './metrics';
