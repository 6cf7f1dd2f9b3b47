export type BalancingErrorCode =
  | 'LB_NO_BACKEND'
  | 'LB_UNKNOWN_BACKEND'
  | 'LB_UNKNOWN_POOL'
  | 'LB_INVALID_INPUT'
  | 'LB_STORE_UNAVAILABLE';

/** Errors of the balancing library carry a stable code; the edge of each app maps codes to HTTP. */
export class BalancingError extends Error {
  constructor(
    readonly code: BalancingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BalancingError';
  }
}
