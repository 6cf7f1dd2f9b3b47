// The throughput scenario's backend: node:http answering 64 bytes, nothing else, so that the
// balancer in front of it is the bottleneck (backend-sim is a whole Nest app, whose own cost caps
// every target and squeezes every ratio towards 1). Agentless: the bench registers it and beats
// for it through the registry's HTTP API. `/health` answers the registry's health checks.
// env: FAST_PORT, FAST_ID
import http from 'node:http';

const id = process.env.FAST_ID ?? 'fast';
const body = Buffer.from(`${JSON.stringify({ id })}`.padEnd(64, ' '));
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'x-backend-id': id });
    res.end(body);
  })
  .listen(Number(process.env.FAST_PORT), '127.0.0.1', () => process.stdout.write(`fast backend ${id} listening\n`));
