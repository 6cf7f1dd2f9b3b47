import { type Problem, problemFromZod } from '@lb/runtime';
import type { ZodError } from 'zod';

/**
 * problemFromZod, except that an unknown field is named: zod reports it on the enclosing object
 * (path []), and "body" would not tell the client which field to remove.
 */
export function invalidRequest(error: ZodError, location: string): Problem {
  const base = problemFromZod(error, location);
  const first = error.issues[0];
  if (first?.code !== 'unrecognized_keys' || first.keys.length === 0) return base;
  const field = [...first.path, first.keys[0]].join('.');
  return { ...base, field, allowed: 'no such field: see the API reference for the accepted fields' };
}
