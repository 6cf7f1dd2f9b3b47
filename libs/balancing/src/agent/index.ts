export { silentAgentLogger, type AgentLogger } from './agent-logger';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffSettings } from './backoff';
export { BackendAgent, peakHeartbeatsPerSecond, type AgentState, type BackendAgentOptions } from './backend-agent';
export { CoalescedReporter, type ActiveReporter, type CoalescedReporterOptions } from './coalesced-reporter';
export { HttpRegistryClient, type HttpRegistryClientOptions } from './http-registry-client';
export { RegistryError, type RegistryClient, type RegistryErrorCode } from './registry-client';
export { realScheduler, settleWithin, type Scheduler } from './scheduler';
