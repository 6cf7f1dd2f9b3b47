import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ZodError } from 'zod';
import { PROBLEM_CONTENT_TYPE, problem, type Problem, ProblemError } from './problem';

/**
 * The one place an app turns an error into what the client sees: application/problem+json, never a
 * stack trace. Unknown errors are 500 and logged once, here, with the stack.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly log = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = this.toProblem(exception);
    if (reply.sent) return;
    void reply.code(body.status).header('content-type', PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store').send(body);
  }

  private toProblem(exception: unknown): Problem {
    if (exception instanceof ProblemError) return exception.problem;
    if (exception instanceof ZodError) return problemFromZod(exception);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const detail = typeof response === 'string' ? response : String((response as { message?: unknown }).message ?? exception.message);
      return problem(status, slugForStatus(status), detail);
    }
    const fastifyStatus = fastifyErrorStatus(exception);
    if (fastifyStatus) return problem(fastifyStatus, slugForStatus(fastifyStatus), (exception as Error).message);
    this.log.error({ err: exception }, 'unhandled error');
    return problem(500, 'internal', 'the server failed to handle this request');
  }
}

/**
 * A 400 naming the first offending field and what it accepts. An unknown field is named too: zod
 * reports it on the enclosing object, and "body" would not tell the client which field to remove.
 */
export function problemFromZod(error: ZodError, location = 'body'): Problem {
  const issue = error.issues[0];
  const detail = error.issues.map((i) => `${i.path.join('.') || location}: ${i.message}`).join('; ');
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
    return problem(400, 'invalid-request', detail, { field: [...issue.path, issue.keys[0]].join('.'), allowed: 'no such field: see the API reference for the accepted fields' });
  }
  const field = issue.path.length > 0 ? issue.path.join('.') : location;
  return problem(400, 'invalid-request', detail, { field, allowed: issue.message });
}

function slugForStatus(status: number): string {
  switch (status) {
    case 404:
      return 'not-found';
    case 413:
      return 'body-too-large';
    case 415:
      return 'unsupported-media-type';
    default:
      return status >= 500 ? 'server-error' : 'invalid-request';
  }
}

/** Fastify's own errors (body too large, bad JSON, wrong content type) carry a statusCode. */
function fastifyErrorStatus(exception: unknown): number | undefined {
  const e = exception as { code?: unknown; statusCode?: unknown } | null;
  if (!e || typeof e.code !== 'string' || !e.code.startsWith('FST_')) return undefined;
  return typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : undefined;
}
