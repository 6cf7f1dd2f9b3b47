import { REDIS_ENV } from '@lb/balancing/redis';
import { nonNegativeInt, port, secret, z } from '@lb/runtime';

/**
 * The all-in-one process reads what it needs to lay the apps out; each app then reads its own
 * variables (GATEWAY_*, REGISTRY_*, BACKEND_*, UPSTREAM_*) from the same environment.
 */
export const StandaloneEnv = z.object({
  ...REDIS_ENV,
  /** How many backend-sims to run in this process (0: registry and gateway only; backends join over HTTP). */
  STANDALONE_BACKENDS: nonNegativeInt(64).default(3),
  /** Port of the first backend-sim; the others take the next ones (0: every one ephemeral). */
  BACKEND_PORT: port.default(8101),
  REGISTRY_PORT: port.default(8090),
  /** When unset, a random token is made for this run (the apps in this process share it). */
  REGISTRY_TOKEN: secret.optional(),
});

export type StandaloneConfig = z.infer<typeof StandaloneEnv>;
