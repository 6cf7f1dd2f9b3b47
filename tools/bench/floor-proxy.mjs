// The floor of a Node reverse proxy on this machine, the reference row of the throughput and
// latency scenarios: node:http in front of one undici Pool per upstream, `dispatch` straight
// through, and the least-connections pick done locally (the upstream with the fewest requests in
// flight from this process; ties go to the first). Nothing else: no headers rewritten, no metrics,
// no logging, no retry, no error handling worth the name. Not a product: it shows how much of the
// gap to nginx is Node's HTTP stack and how much is the gateway's own work.
// env: FLOOR_PORT, FLOOR_UPSTREAMS (comma-separated origins) or FLOOR_UPSTREAM (one origin)
import http from 'node:http';
import { Pool } from 'undici';

const origins = (process.env.FLOOR_UPSTREAMS ?? process.env.FLOOR_UPSTREAM ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (origins.length === 0) throw new Error('floor-proxy: set FLOOR_UPSTREAMS (or FLOOR_UPSTREAM)');

/** @type {{pool: Pool, inFlight: number}[]} */
const upstreams = origins.map((origin) => ({ pool: new Pool(origin, { connections: 128, pipelining: 1 }), inFlight: 0 }));

/** The upstream with the fewest requests in flight from this process (ties: the first). */
function pickLeastLoaded() {
  let best = upstreams[0];
  for (const u of upstreams) if (u.inFlight < best.inFlight) best = u;
  return best;
}

http
  .createServer((req, res) => {
    const upstream = pickLeastLoaded();
    upstream.inFlight++;
    let counted = true;
    const countOff = () => {
      if (counted) upstream.inFlight--;
      counted = false;
    };
    upstream.pool.dispatch(
      { path: /** @type {string} */ (req.url), method: /** @type {any} */ (req.method), headers: req.headers, body: null },
      {
        onRequestStart() {},
        onResponseStart(_c, status, headers) {
          res.writeHead(status, headers);
        },
        onResponseData(_c, chunk) {
          res.write(chunk);
        },
        onResponseEnd() {
          countOff();
          res.end();
        },
        onResponseError(_c, err) {
          countOff();
          res.destroy(err);
        },
      },
    );
  })
  .listen(Number(process.env.FLOOR_PORT), '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
