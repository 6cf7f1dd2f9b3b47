import type { ServerResponse } from 'node:http';

/** RFC 9457 problem details: what every error a client sees looks like. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  /** The request field at fault (400). */
  readonly field?: string;
  /** What the field accepts. */
  readonly allowed?: string;
  readonly [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Problem types are names, not pages: a URN says so (RFC 9457 allows any URI). */
const TYPE_BASE = 'urn:lb:problem:';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function problem(status: number, slug: string, detail?: string, extra: Record<string, unknown> = {}): Problem {
  return { type: `${TYPE_BASE}${slug}`, title: TITLES[status] ?? 'Error', status, detail, ...extra };
}

/** Thrown below the edge; the app's filter (or the gateway's raw handler) renders it. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ProblemError';
  }
}

/** For raw node:http responses (the gateway's traffic port has no framework on it). */
export function writeProblem(res: ServerResponse, body: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(body.status, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}


/** For raw sockets (upgrade requests, parse errors): a complete problem+json answer, then close. */
export function writeRawProblem(socket: { writable: boolean; end(data: string): void; destroy(): void }, body: Problem, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${body.status} ${TITLES[body.status] ?? 'Error'}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(payload)}\r\ncache-control: no-store\r\n${extra}connection: close\r\n\r\n${payload}`,
  );
}
