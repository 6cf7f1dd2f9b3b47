import { problem, ProblemError } from '@lb/runtime';
import type { FastifyInstance } from 'fastify';

/**
 * Makes the server accept JSON bodies only, and turns a malformed one into a 400 naming "body".
 *
 * Why not Nest's own body parser: Fastify parses bodies before Nest sees the request, and Nest
 * re-wraps Fastify's parse errors as bare HttpExceptions (message and status only, the FST_ code
 * lost), so the app's filter cannot tell a bad document from other 400s. A ProblemError thrown from
 * the parser reaches the ProblemFilter unchanged. Oversized bodies never reach the parser: Fastify
 * answers them (FST_ERR_CTP_BODY_TOO_LARGE, 413), as it answers any other content type (415);
 * both arrive at the filter as HttpExceptions with that status. Create the app with
 * `bodyParser: false` and call this before `listen()`.
 */
export function acceptJsonBodiesOnly(fastify: FastifyInstance, bodyLimit: number): void {
  // Fastify's own parser keeps its __proto__ / constructor poisoning checks.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers(); // text/plain included: a registration is never plain text
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    // Some clients send "content-type: application/json" with no body on POST .../drain.
    const text = body.toString(); // a string already: parseAs 'string'
    if (text.length === 0) return done(null, undefined);
    parseJson(request, text, (err, value) => {
      if (err) done(malformedJson(), undefined);
      else done(null, value);
    });
  });
}

function malformedJson(): ProblemError {
  return new ProblemError(
    problem(400, 'invalid-request', 'body: not a valid JSON document', { field: 'body', allowed: 'a JSON object (application/json)' }),
  );
}
