// What infra/ must agree with, read from the apps' own env schemas (never repeated by hand): every
// variable each app reads, the defaults, and which of them are ports.
import type { z } from 'zod';
import { BackendSimEnv } from '../../libs/backend-sim/src/backend-sim.env';
import { GatewayEnv } from '../../libs/gateway/src/config';
import { RegistryEnv } from '../../libs/registry/src/config';

export type AppFacts = { env: Set<string>; defaults: Record<string, unknown>; ports: Record<string, number> };

function factsOf(schema: z.ZodObject): AppFacts {
  const defaults: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const parsed = (field as z.ZodType).safeParse(undefined);
    if (parsed.success && parsed.data !== undefined) defaults[name] = parsed.data;
  }
  const ports = Object.fromEntries(Object.entries(defaults).filter(([name, v]) => /_PORT$/.test(name) && typeof v === 'number')) as Record<string, number>;
  return { env: new Set(Object.keys(schema.shape)), defaults, ports };
}

/** gateway, registry, backend-sim: the apps infra/ builds images and jobs for. */
export const APP_FACTS: Record<string, AppFacts> = {
  gateway: factsOf(GatewayEnv),
  registry: factsOf(RegistryEnv),
  'backend-sim': factsOf(BackendSimEnv),
};
