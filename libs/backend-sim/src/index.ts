export * from './backend-sim.env';
export * from './backend-identity';
export * from './backend-sim.module';
export * from './bootstrap';
export * from './tokens';
export { ActiveConnections } from './traffic/active-connections';
export { LoadReporting, type ReportingMode } from './reporting/load-reporting.service';
