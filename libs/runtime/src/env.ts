import { z } from 'zod';
import { LOG_FORMATS } from './logger';

/**
 * Environment readers. Every app declares its variables once with these, and `loadConfig` turns
 * the environment into a typed object or one clear line naming the variable, the value and the rule.
 */
const intInRange = (min: number, max: number, rule: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: rule })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: rule });

/** A TCP port; 0 means "pick a free one" (tests, ephemeral deployments). */
export const port = intInRange(0, 65_535, 'expected a port 0-65535');
/** A duration in milliseconds. */
export const ms = intInRange(0, 86_400_000, 'expected milliseconds, an integer 0-86400000');
/** A size in bytes. */
export const bytes = intInRange(0, 1024 ** 4, 'expected a size in bytes, a non-negative integer');
export const positiveInt = (max = 1_000_000) => intInRange(1, max, `expected an integer 1-${max}`);
export const nonNegativeInt = (max = 1_000_000) => intInRange(0, max, `expected an integer 0-${max}`);

export const positiveNumber = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, { message: 'expected a positive number' })
  .transform(Number)
  .refine((n) => n > 0, { message: 'expected a positive number' });

export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const httpUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), {
    message: 'expected an http:// or https:// URL',
  })
  .transform((v) => v.replace(/\/+$/, ''));

export const redisUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^rediss?:$/.test(new URL(v).protocol), {
    message: 'expected a redis:// or rediss:// URL',
  });

/** LOG_FORMAT: readable lines on a terminal and JSON otherwise (auto), or always one of them. */
export const logFormat = z.enum(LOG_FORMATS, { message: `expected ${LOG_FORMATS.join(', ')}` });

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  message: 'expected one of fatal, error, warn, info, debug, trace, silent',
});

/** A secret: at least 16 characters, so a typo'd or placeholder value is refused. */
export const secret = z.string().min(16, { message: 'expected a secret of at least 16 characters' });

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError whose message is one line per bad variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv | Record<string, string | undefined>): z.infer<S> {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const value = cleaned[name];
    const shown = value === undefined ? '(unset)' : isSecretName(name) ? '(hidden)' : JSON.stringify(withoutCredentials(value));
    return `${name}=${shown}: ${issue.message}`;
  });
  throw new ConfigError(lines.join('\n'));
}

/** A URL's user and password (`redis://user:pw@host`) replaced by "***", even in a URL that is otherwise invalid. */
export function withoutCredentials(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/?#]*@/, '$1***@');
}

/** Names that hold credentials (REGISTRY_TOKEN, REDIRECT_KEYS...), not switches about them (REQUIRE_GATEWAY_TOKEN). */
function isSecretName(name: string): boolean {
  return /(TOKEN|SECRET|KEYS?|PASSWORD)$/i.test(name) && !/^REQUIRE_/i.test(name);
}

export { z };
