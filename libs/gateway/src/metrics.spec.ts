import { GatewayMetrics } from './metrics';

const valueOf = async (metrics: GatewayMetrics, name: string, labels: Record<string, string>) => {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
};

describe('GatewayMetrics', () => {
  it('hands the counts kept on the request path to Prometheus at each scrape, exactly once each', async () => {
    const metrics = new GatewayMetrics();
    const meters = metrics.pool('p');
    meters.ended(200, 0.01, 'b1');
    meters.ended(200, 0.01, 'b1');
    meters.ended(502, 0.01, undefined);
    await metrics.registry.metrics();
    expect(await valueOf(metrics, 'lb_gateway_requests_total', { pool: 'p', status: '200' })).toBe(2);
    meters.ended(200, 0.01, 'b2');
    await metrics.registry.metrics(); // a second scrape adds what came since, not the whole count again
    expect(await valueOf(metrics, 'lb_gateway_requests_total', { pool: 'p', status: '200' })).toBe(3);
    expect(await valueOf(metrics, 'lb_gateway_requests_total', { pool: 'p', status: '502' })).toBe(1);
    expect(await valueOf(metrics, 'lb_gateway_backend_requests_total', { pool: 'p', backend: 'b1' })).toBe(2);
    expect(await valueOf(metrics, 'lb_gateway_backend_requests_total', { pool: 'p', backend: 'b2' })).toBe(1);
    expect(metrics.servedSoFar()).toEqual({ p: { b1: 2, b2: 1 } });
  });

  it('shows the exchanges in flight per pool as they are when scraped', async () => {
    const metrics = new GatewayMetrics();
    metrics.pool('p').inFlight = 3;
    expect(await valueOf(metrics, 'lb_gateway_in_flight', { pool: 'p' })).toBe(3);
  });
});
