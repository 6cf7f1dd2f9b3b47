import { performance } from 'node:perf_hooks';
import { createLogger } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import { GatewayMetrics } from '../metrics';
import { ExchangeTracker } from './exchange-tracker';

describe('ExchangeTracker access line', () => {
  it.each([
    ['/work?ms=5&lb_token=s3cret.signature', '/work?[redacted]'],
    ['/api/items?access_token=s3cret', '/api/items?[redacted]'],
    ['/plain/path', '/plain/path'],
  ])('logs %p as %p: a credential in the query never reaches the log', (url, logged) => {
    const lines: string[] = [];
    const log = createLogger({ service: 'gateway', level: 'info' }, { write: (line: string) => lines.push(line) });
    const tracker = new ExchangeTracker({ GATEWAY_MAX_SESSIONS: 10, GATEWAY_ACCESS_LOG: true } as GatewayConfig, log);
    const meters = new GatewayMetrics({ defaultMetrics: false }).pool('default');
    tracker.begin(meters);
    tracker.end({ requestId: 'r1', method: 'GET', url, meters, status: 200, backend: 'b1', startedAt: performance.now(), upstreamError: undefined, kind: 'request' });
    expect(lines.map((line) => (JSON.parse(line) as { req: { url: string } }).req.url)).toEqual([logged]);
    expect(lines.join('')).not.toContain('s3cret');
  });
});
