import { ConfigError } from './env';

/**
 * Runs an app's main(): a configuration error is one line on stderr and exit code 2, anything else
 * that stops the start is one line and exit code 1. No stack trace for a typo in a variable.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: invalid configuration: ${err.message.replace(/\n/g, '; ')}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
