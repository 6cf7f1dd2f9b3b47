export * from './config';
export * from './tokens';
export * from './registry.module';
export * from './bootstrap';
export * from './backends/backend-api-view';
export * from './http/json-bodies';
export { Sweeper } from './sweeper/sweeper.service';
