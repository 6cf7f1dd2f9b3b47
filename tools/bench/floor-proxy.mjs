// The floor of a Node reverse proxy on this machine, for scenario 1 only: node:http in front of
// one undici Pool, `dispatch` straight through, nothing else (no pick, no headers rewritten, no
// metrics, no logging, no error handling worth the name). Not a product: it shows how much of the
// gap to nginx is Node's HTTP stack and how much is the gateway's own work.
// env: FLOOR_PORT, FLOOR_UPSTREAM (origin)
import http from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(/** @type {string} */ (process.env.FLOOR_UPSTREAM), { connections: 128, pipelining: 1 });
http
  .createServer((req, res) => {
    pool.dispatch(
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
          res.end();
        },
        onResponseError(_c, err) {
          res.destroy(err);
        },
      },
    );
  })
  .listen(Number(process.env.FLOOR_PORT), '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
