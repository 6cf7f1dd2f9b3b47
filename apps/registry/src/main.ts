import 'reflect-metadata';
import { bootstrapRegistry, RegistryEnv } from '@lb/registry';
import { loadConfig, runMain } from '@lb/runtime';

runMain('registry', async () => {
  const config = loadConfig(RegistryEnv, process.env); // fails before any socket opens
  const { app } = await bootstrapRegistry(config);
  app.enableShutdownHooks(); // SIGTERM: stop the sweeper, close the server and the store
});
