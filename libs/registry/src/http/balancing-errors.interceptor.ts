import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, Optional } from '@nestjs/common';
import { BalancingError, type BalancingErrorCode } from '@lb/balancing';
import { problem, ProblemError } from '@lb/runtime';
import { catchError, type Observable, throwError } from 'rxjs';
import { StoreTrouble } from '../sweeper/store-trouble';

const STATUS: Record<BalancingErrorCode, [number, string]> = {
  LB_NO_BACKEND: [503, 'no-backend'],
  LB_UNKNOWN_BACKEND: [404, 'unknown-backend'],
  LB_UNKNOWN_POOL: [404, 'unknown-pool'],
  LB_INVALID_INPUT: [400, 'invalid-request'],
  LB_STORE_UNAVAILABLE: [503, 'store-unavailable'],
};

/**
 * The balancing library speaks in error codes, not HTTP (and @lb/runtime's filter cannot know
 * them): this is where the registry gives each code its status.
 */
@Injectable()
export class BalancingErrorsInterceptor implements NestInterceptor {
  /** A heartbeat the store could not record is trouble the sweep must know of. */
  constructor(@Optional() private readonly trouble?: StoreTrouble) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((err: unknown) => {
        if (err instanceof BalancingError && err.code === 'LB_STORE_UNAVAILABLE') this.trouble?.mark();
        return throwError(() => toProblemError(err));
      }),
    );
  }
}

export function toProblemError(err: unknown): unknown {
  if (!(err instanceof BalancingError)) return err;
  const mapped = STATUS[err.code];
  if (!mapped) return err; // a code this table does not know yet: the filter logs it as a 500
  const [status, slug] = mapped;
  return new ProblemError(problem(status, slug, err.message, { code: err.code }));
}
