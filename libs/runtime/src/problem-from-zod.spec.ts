import { z } from 'zod';
import { problemFromZod } from './problem.filter';

const Body = z.strictObject({ url: z.string({ message: 'expected a URL' }), meta: z.strictObject({ a: z.string() }).optional() });

function problemFor(input: unknown, location = 'body') {
  const result = Body.safeParse(input);
  if (result.success) throw new Error('expected a failure');
  return problemFromZod(result.error, location);
}

describe('problemFromZod', () => {
  it.each([
    [{ url: 1 }, 'url', 'expected a URL'],
    [{ url: 'x', colour: 'red' }, 'colour', 'no such field: see the API reference for the accepted fields'],
    [{ url: 'x', meta: { a: 'b', z: 'y' } }, 'meta.z', 'no such field: see the API reference for the accepted fields'],
  ])('names the field of %p', (input, field, allowed) => {
    expect(problemFor(input)).toMatchObject({ status: 400, field, allowed });
  });

  it('names the location when the whole value is wrong', () => {
    expect(problemFor('text', 'body')).toMatchObject({ status: 400, field: 'body' });
    expect(problemFor(undefined, 'id')).toMatchObject({ status: 400, field: 'id' });
  });
});
