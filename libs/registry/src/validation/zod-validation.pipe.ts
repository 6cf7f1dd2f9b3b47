import { type PipeTransform } from '@nestjs/common';
import { ProblemError, problemFromZod } from '@lb/runtime';
import type { z } from 'zod';

/**
 * Validates one request part with the wire contract's zod schema; a failure is a 400 naming the
 * field. `location` names the part when the whole value is wrong ("body", "id", "query").
 */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly location: string,
  ) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value);
    if (!result.success) throw new ProblemError(problemFromZod(result.error, this.location));
    return result.data;
  }
}
