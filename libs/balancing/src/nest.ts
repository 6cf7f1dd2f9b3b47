export * from './nest/tokens';
export * from './nest/balancing.module';
export * from './nest/store-health.indicator';
