import 'reflect-metadata';
import { BackendSimEnv, bootstrapBackendSim } from '@lb/backend-sim';
import { loadConfig, runMain } from '@lb/runtime';

/** One backend simulator. SIGTERM/SIGINT: deregister from the registry, then close the listener. */
runMain('backend-sim', async () => {
  const config = loadConfig(BackendSimEnv, process.env); // fails before any socket opens
  const sim = await bootstrapBackendSim(config);
  sim.app.enableShutdownHooks(); // LoadReporting deregisters in beforeApplicationShutdown, before the listener closes
});
