/** The pino-style slice of a logger the agent uses (object first, then message). */
export interface AgentLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentAgentLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A loggable one-liner for an error (never the error object: HTTP client errors can carry headers). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
