import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { MemoryBalancerStore, type BalancerStore } from '@lb/balancing';
import { describeRedis, redisConnectionFrom, type RedisConnection } from '@lb/balancing/redis';
import { BackendSimEnv, bootstrapBackendSim } from '@lb/backend-sim';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv } from '@lb/registry';
import { createLogger, loadConfig, runMain } from '@lb/runtime';
import { StandaloneEnv } from './config';

/**
 * `npm start`: registry, backend-sims and a gateway in one process. Without REDIS_URL they share
 * one in-memory store (nothing to install); with it, each app uses Redis as it would alone.
 */
runMain('standalone', async () => {
  const env = process.env;
  const layout = loadConfig(StandaloneEnv, env);
  const token = layout.REGISTRY_TOKEN ?? randomBytes(24).toString('base64url');
  // Redirect mode works out of the box: a signing key for this run, and backends that check it.
  const redirects = env.GATEWAY_MODE === 'redirect' || /:redirect\b/.test(env.GATEWAY_ROUTES ?? '');
  const redirectKeys = env.REDIRECT_KEYS ?? (redirects ? `run:${randomBytes(32).toString('base64')}` : undefined);
  const tokenEnv = redirects ? { REDIRECT_KEYS: redirectKeys, REQUIRE_GATEWAY_TOKEN: env.REQUIRE_GATEWAY_TOKEN ?? 'true' } : {};
  const redis = redisConnectionFrom(layout);
  const store: BalancerStore | undefined = redis ? undefined : new MemoryBalancerStore();
  const deps = { store };
  /** Stop stages in reverse start order; the apps within one stage stop together. */
  const stops: (() => Promise<void>)[][] = [];
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    // The gateway stops taking traffic first, then the backends (deregistering), then the
    // registry; the store goes last.
    for (const stage of stops.reverse()) await Promise.all(stage.map((stop) => stop().catch(() => undefined)));
    await store?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stopAll());
  process.once('SIGTERM', () => void stopAll());

  const registry = await bootstrapRegistry(loadConfig(RegistryEnv, { ...env, REGISTRY_TOKEN: token }), deps);
  stops.push([registry.close]);

  const backends = [];
  for (let i = 0; i < layout.STANDALONE_BACKENDS; i++) {
    const backend = await bootstrapBackendSim(
      loadConfig(BackendSimEnv, {
        ...env,
        BACKEND_PORT: String(layout.BACKEND_PORT === 0 ? 0 : layout.BACKEND_PORT + i),
        BACKEND_HOST: env.BACKEND_HOST ?? '127.0.0.1',
        BACKEND_ID: `sim-${i + 1}`,
        ADVERTISE_URL: undefined,
        REGISTRY_URL: registry.url,
        REGISTRY_TOKEN: token,
        ...tokenEnv,
      }),
      deps,
    );
    backends.push(backend);
  }

  const gateway = await bootstrapGateway(resolveGatewayConfig(loadConfig(GatewayEnv, { ...env, ...tokenEnv })), deps);
  stops.push(backends.map((b) => b.close));
  stops.push([gateway.close]);

  const urls = {
    gateway: gateway.trafficUrl,
    admin: gateway.adminUrl,
    registry: registry.url,
    dashboard: `${registry.url}/dashboard`,
    backends: backends.map((b) => b.url),
  };
  if (!process.stdout.isTTY) {
    // Piped (to Loki, a file): JSON lines only, and never the token.
    createLogger({ service: 'standalone', level: 'info' }).info({ store: store ? 'memory' : describeRedis(redis as RedisConnection), mode: redirects ? 'redirect' : 'proxy', ...urls }, 'standalone running');
    return;
  }
  const lines = [
    '',
    `least-connections gateway running (${store ? 'in-memory store' : `Redis at ${describeRedis(redis as RedisConnection)}`}${redirects ? ', redirect mode' : ''})`,
    `  dashboard ${urls.dashboard}`,
    `  gateway   ${urls.gateway}        admin ${urls.admin}/health/ready  ${urls.admin}/metrics`,
    `  registry  ${urls.registry}/v1/backends`,
    ...backends.map((b) => `  backend   ${b.url}  (${b.id})`),
    '',
    'try:',
    redirects ? `  curl -iL ${urls.gateway}/work?ms=10` : `  curl -i ${urls.gateway}/work?ms=10`,
    layout.REGISTRY_TOKEN ? '  (registry writes and the dashboard\'s buttons take the REGISTRY_TOKEN you set)' : `  registry token for this run: ${token}  (set REGISTRY_TOKEN to choose one)`,
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
});
