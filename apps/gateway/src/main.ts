import 'reflect-metadata';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig } from '@lb/gateway';
import { loadConfig, runMain } from '@lb/runtime';

runMain('gateway', async () => {
  const config = resolveGatewayConfig(loadConfig(GatewayEnv, process.env)); // fails before any socket opens
  const gateway = await bootstrapGateway(config);
  gateway.app.enableShutdownHooks(); // SIGTERM: stop accepting, drain in-flight, give leases back, quit Redis
});
