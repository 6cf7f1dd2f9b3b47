// Measures head-splice-proxy.mjs (a prototype, not the product) against tools/bench/floor-proxy.mjs,
// the backend alone and nginx if installed. First checks correctness through the prototype (an
// inline echo backend answers each body's length and sha256), then interleaves ROUNDS rounds of
// `wrk -t1 -c64 -d8s --latency` over the targets, one load generator at a time, and reads each
// proxy's CPU (utime+stime of it and its children from /proc) around every run. Last, a low-load
// latency figure (2 connections). Prints a markdown report; `node measure-head-splice.mjs out.md`
// also writes it to out.md; CHECKS_ONLY=1 stops after the checks. Every child is started here and stopped here by PID. ~2.5 minutes.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bench = join(here, '..');
const ROUNDS = 3;
const LOAD = { connections: 64, seconds: 8 };
const LOW_LOAD = { connections: 2, seconds: 5 };
const PATH = '/work?ms=0';
const NGINX = '/usr/sbin/nginx';
const TICK_MS = 1000 / (Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);

/** @typedef {{name: string, pid: number, proc: import('node:child_process').ChildProcess, out: string}} Child */
/** @type {Child[]} */
const children = [];

/** @param {string} name @param {string} cmd @param {string[]} args @param {Record<string, string>} [env] */
function start(name, cmd, args, env = {}) {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  /** @type {Child} */
  const child = { name, pid: /** @type {number} */ (proc.pid), proc, out: '' };
  const keep = (/** @type {Buffer} */ c) => (child.out = (child.out + c).slice(-4000));
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  children.push(child);
  return child;
}

/** @param {Child} child */
async function stop(child) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  await Promise.race([exited, sleep(3000)]);
  if (child.proc.exitCode === null && child.proc.signalCode === null) process.kill(child.pid, 'SIGKILL');
}
function stopAllNow() {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
}
process.on('exit', stopAllNow);
process.on('SIGINT', () => process.exit(130));

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * @param {string} url
 * @param {{method?: string, headers?: Record<string, string | number>, body?: Buffer}} [o]
 * @returns {Promise<{status: number, headers: http.IncomingHttpHeaders, body: Buffer}>}
 */
function request(url, o = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      /** @type {Buffer[]} */
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: /** @type {number} */ (res.statusCode), headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** @param {Child} child @param {string} url */
async function waitHttp(child, url) {
  for (let i = 0; i < 100; i++) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited: ${child.out}`);
    try {
      await request(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${child.name} did not answer ${url}: ${child.out}`);
}

/**
 * Writes `pieces` to a raw TCP connection (a few ms apart, so they arrive as separate reads) and
 * resolves with everything read until the server closes (or 5 s pass).
 * @param {number} port @param {(string | Buffer)[]} pieces
 * @returns {Promise<string>}
 */
function raw(port, pieces) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let got = '';
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('data', (c) => (got += c.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    (async () => {
      for (const p of pieces) {
        if (s.destroyed) return;
        s.write(p);
        await sleep(2);
      }
    })();
  });
}

/** CPU ticks (utime + stime) of `pid` and its descendants, from /proc. @param {number} pid */
function cpuTicks(pid) {
  /** @type {Map<number, {ppid: number, ticks: number}>} */
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // state(0) ppid(1) ... utime(11) stime(12)
      procs.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      /* exited meanwhile */
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = /** @type {number} */ (stack.pop());
    total += procs.get(p)?.ticks ?? 0;
    for (const [child, info] of procs) if (info.ppid === p) stack.push(child);
  }
  return total;
}

/**
 * @param {string} url @param {{connections: number, seconds: number}} load
 * @returns {Promise<{requests: number, rps: number, p50: number, errors: number}>}
 */
async function wrk(url, load) {
  const child = start('wrk', 'wrk', ['-t1', `-c${load.connections}`, `-d${load.seconds}s`, '--timeout', '10s', '--latency', url]);
  const code = await new Promise((resolve) => child.proc.once('exit', resolve));
  const text = child.out;
  if (code !== 0) throw new Error(`wrk exited ${code}: ${text}`);
  const toMs = (/** @type {string} */ v, /** @type {string} */ unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? NaN);
  const p50 = text.match(/^\s*50%\s+([\d.]+)(us|ms|s)\s*$/m);
  const sock = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    requests: Number(text.match(/(\d+) requests in/)?.[1] ?? NaN),
    rps: Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN),
    p50: p50 ? toMs(p50[1], p50[2]) : NaN,
    errors: Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0) + (sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0),
  };
}

const BIG = randomBytes(8 * 1024 * 1024);

/** An http server answering each request's body length and sha256 (and a few framing cases). */
function startEcho() {
  const server = http.createServer((req, res) => {
    if (req.url === '/chunked-response') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 5; i++) res.write(`piece-${i};`.repeat(300));
      return void res.end('end-of-chunked');
    }
    if (req.url === '/close-delimited') {
      // No Content-Length, no chunking: the body ends when the connection does.
      return void req.socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n${'c'.repeat(5000)}end-of-close-delimited`);
    }
    if (req.url === '/die-midway') {
      res.writeHead(200, { 'content-length': 100_000 });
      return void res.write('x'.repeat(1000), () => setTimeout(() => req.socket.destroy(), 20));
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': BIG.length });
      return void res.end(BIG);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      const h = req.headers;
      const body = JSON.stringify({ method: req.method, url: req.url, bytes, sha256: hash.digest('hex'), te: h['transfer-encoding'] ?? null, cl: h['content-length'] ?? null, xff: h['x-forwarded-for'] ?? null, proto: h['x-forwarded-proto'] ?? null, requestId: h['x-request-id'] ?? null, trailers: req.trailers });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** @param {string} text  a response on a raw connection @returns {number[]} its status codes, in order */
const statuses = (text) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/** @param {number} port  a prototype in front of the echo backend @param {number} deadPort @param {string} fastProto @param {string} fastDirect */
async function checkCorrectness(port, deadPort, fastProto, fastDirect) {
  /** @type {{check: string, ok: boolean, detail: string}[]} */
  const results = [];
  const check = (/** @type {string} */ name, /** @type {boolean} */ ok, /** @type {string} */ detail) => results.push({ check: name, ok, detail });
  const base = `http://127.0.0.1:${port}`;

  const viaProto = await request(`${fastProto}${PATH}`);
  const direct = await request(`${fastDirect}${PATH}`);
  check('GET through the prototype returns the backend body', viaProto.status === 200 && viaProto.body.equals(direct.body), `${viaProto.status}, ${viaProto.body.length} bytes, x-backend-id ${viaProto.headers['x-backend-id']}`);

  const body = randomBytes(100 * 1024);
  const sha = createHash('sha256').update(body).digest('hex');
  const cl = await request(`${base}/upload`, { method: 'POST', headers: { 'content-length': body.length }, body });
  const clEcho = JSON.parse(cl.body.toString());
  check('POST 100 KiB with Content-Length arrives intact', clEcho.bytes === body.length && clEcho.sha256 === sha, `${clEcho.bytes} bytes, sha256 ${clEcho.sha256 === sha ? 'matches' : 'DIFFERS'}`);
  check('X-Forwarded-For / -Proto / X-Request-Id added', clEcho.xff === '127.0.0.1' && clEcho.proto === 'http' && /^[0-9a-z]+-[0-9a-z]+$/.test(clEcho.requestId ?? ''), `xff ${clEcho.xff}, proto ${clEcho.proto}, id ${clEcho.requestId}`);

  // Chunked, sent in uneven pieces (1 B to 3 KiB) so chunk sizes, CRLFs and data split across reads;
  // one chunk has an extension, and a trailer follows.
  let encoded = `POST /upload-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
  const parts = [];
  for (let at = 0, i = 0; at < body.length; i++) {
    const n = Math.min(body.length - at, [1, 7, 4096, 333, 16384, 2][i % 6]);
    parts.push(Buffer.from(`${n.toString(16)}${i === 3 ? ';name=value' : ''}\r\n`), body.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
  }
  parts.push(Buffer.from('0\r\nX-Check: yes\r\n\r\n'));
  const all = Buffer.concat([Buffer.from(encoded), ...parts]);
  /** @type {Buffer[]} */
  const pieces = [];
  for (let at = 0, i = 0; at < all.length; i++) pieces.push(all.subarray(at, (at += [1, 3000, 2, 17, 1500][i % 5])));
  encoded = await raw(port, pieces);
  const chEcho = JSON.parse(encoded.slice(encoded.indexOf('\r\n\r\n') + 4) || '{}');
  check('chunked POST 100 KiB (split reads, extension, trailer) arrives intact', chEcho.bytes === body.length && chEcho.sha256 === sha && chEcho.trailers?.['x-check'] === 'yes', `${chEcho.bytes} bytes, sha256 ${chEcho.sha256 === sha ? 'matches' : 'DIFFERS'}, te ${chEcho.te}, trailer ${chEcho.trailers?.['x-check']}`);

  // Four pipelined requests in one write: chunked response, HEAD (a Content-Length but no body: a
  // proxy waiting for that body would hang here), a POST with a body, then a close.
  const pipelined = await raw(port, [
    'GET /chunked-response HTTP/1.1\r\nHost: x\r\n\r\nHEAD /h HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  ]);
  const order = [...pipelined.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]).join(' ');
  check('4 pipelined requests (chunked response, HEAD, POST, close) answered in order', statuses(pipelined).join() === '200,200,200,200' && pipelined.includes('end-of-chunked') && order === '/p /last' && pipelined.includes('"bytes":10'), `statuses ${statuses(pipelined).join()}, bodies ${order}`);

  const closeDelimited = await raw(port, ['GET /close-delimited HTTP/1.1\r\nHost: x\r\n\r\n']);
  check('close-delimited response relayed, client closed after it', closeDelimited.endsWith('end-of-close-delimited'), `${closeDelimited.length} bytes`);

  const died = await raw(port, ['GET /die-midway HTTP/1.1\r\nHost: x\r\n\r\n']);
  const diedBody = died.length - died.indexOf('\r\n\r\n') - 4;
  check('upstream dying mid-response cuts the client', statuses(died).join() === '200' && diedBody === 1000, `status ${statuses(died).join()}, then ${diedBody} of 100000 body bytes and a closed connection`);

  // A client that does not read for 300 ms: the prototype must pause the upstream, not lose bytes.
  const big = await new Promise((resolve, reject) => {
    http.get(`${base}/big`, { agent: false }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.pause();
      setTimeout(() => res.resume(), 300);
      res.on('data', (c) => {
        bytes += c.length;
        hash.update(c);
      });
      res.on('end', () => resolve({ bytes, sha: hash.digest('hex') }));
    }).on('error', reject);
  });
  const bigSha = createHash('sha256').update(BIG).digest('hex');
  check('8 MiB response to a client that pauses arrives intact', big.bytes === BIG.length && big.sha === bigSha, `${big.bytes} bytes, sha256 ${big.sha === bigSha ? 'matches' : 'DIFFERS'}`);

  const refusals = [
    ['Content-Length + Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['no Host', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['20 KiB head', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 431],
    ['Upgrade: websocket', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 501],
    ['Transfer-Encoding: gzip', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
  ];
  for (const [what, text, want] of refusals) {
    const got = statuses(await raw(port, [String(text)]));
    check(`${what} refused with ${want}`, got.join() === String(want), `got ${got.join() || 'nothing'}`);
  }
  const dead = statuses(await raw(deadPort, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n']));
  check('connect failure answers 502', dead.join() === '502', `got ${dead.join() || 'nothing'}`);
  return results;
}

/** @param {string} dir @param {number} port @param {number} backendPort  the bench's nginx settings (tools/bench/lib/stack.mjs), one backend */
function nginxConf(dir, port, backendPort) {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  upstream backends { least_conn; server 127.0.0.1:${backendPort} max_fails=0; keepalive 64; keepalive_requests 100000; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;
}

/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
/** @param {number[]} xs @param {number} digits  "median (min–max)" */
function spread(xs, digits) {
  if (xs.some((x) => !Number.isFinite(x))) return 'n/a';
  const f = (/** @type {number} */ x) => x.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

async function main() {
  const [fastPort, floorPort, protoPort, echoProtoPort, deadPort, deadProtoPort, nginxPort] = await Promise.all(Array.from({ length: 7 }, freePort));
  const fast = start('fast-backend', process.execPath, [join(bench, 'fast-backend.mjs')], { FAST_PORT: String(fastPort), FAST_ID: 'fast' });
  const fastUrl = `http://127.0.0.1:${fastPort}`;
  await waitHttp(fast, fastUrl);
  const floor = start('floor-proxy', process.execPath, [join(bench, 'floor-proxy.mjs')], { FLOOR_PORT: String(floorPort), FLOOR_UPSTREAM: fastUrl, FLOOR_UPSTREAMS: fastUrl });
  const proto = start('head-splice', process.execPath, [join(here, 'head-splice-proxy.mjs')], { PROTO_PORT: String(protoPort), PROTO_UPSTREAMS: fastUrl });
  const echo = /** @type {http.Server} */ (await startEcho());
  const echoUrl = `http://127.0.0.1:${/** @type {net.AddressInfo} */ (echo.address()).port}`;
  const echoProto = start('head-splice-echo', process.execPath, [join(here, 'head-splice-proxy.mjs')], { PROTO_PORT: String(echoProtoPort), PROTO_UPSTREAMS: echoUrl });
  const deadProto = start('head-splice-dead', process.execPath, [join(here, 'head-splice-proxy.mjs')], { PROTO_PORT: String(deadProtoPort), PROTO_UPSTREAMS: `http://127.0.0.1:${deadPort}` });
  await Promise.all([waitHttp(floor, `http://127.0.0.1:${floorPort}`), waitHttp(proto, `http://127.0.0.1:${protoPort}`), waitHttp(echoProto, `http://127.0.0.1:${echoProtoPort}`)]);
  while (!deadProto.out.includes('listening')) await sleep(50);

  /** @type {{name: string, url: string, child: Child | null}[]} */
  const targets = [
    { name: 'direct (backend alone)', url: `${fastUrl}${PATH}`, child: null },
    { name: 'floor-proxy (node:http + undici)', url: `http://127.0.0.1:${floorPort}${PATH}`, child: floor },
    { name: 'head-splice prototype', url: `http://127.0.0.1:${protoPort}${PATH}`, child: proto },
  ];
  let nginxDir = '';
  if (existsSync(NGINX)) {
    nginxDir = mkdtempSync(join(tmpdir(), 'head-splice-nginx-'));
    writeFileSync(join(nginxDir, 'nginx.conf'), nginxConf(nginxDir, nginxPort, fastPort));
    const nginx = start('nginx', NGINX, ['-p', nginxDir, '-e', join(nginxDir, 'error.log'), '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;']);
    await waitHttp(nginx, `http://127.0.0.1:${nginxPort}`);
    targets.push({ name: 'nginx (1 worker)', url: `http://127.0.0.1:${nginxPort}${PATH}`, child: nginx });
  }

  process.stdout.write('correctness checks through the prototype...\n');
  const checks = await checkCorrectness(echoProtoPort, deadProtoPort, `http://127.0.0.1:${protoPort}`, fastUrl);
  for (const c of checks) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}\n`);
  await Promise.all([stop(echoProto), stop(deadProto)]);
  echo.close();
  if (process.env.CHECKS_ONLY) {
    for (const c of [...children].reverse()) await stop(c);
    if (nginxDir) rmSync(nginxDir, { recursive: true, force: true });
    process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
    return;
  }

  process.stdout.write('warm-up (2 s each)...\n');
  for (const t of targets) await wrk(t.url, { connections: LOAD.connections, seconds: 2 });

  /** @type {Map<string, {rps: number[], p50: number[], cpu: number[], backendCpu: number[], errors: number}>} */
  const runs = new Map(targets.map((t) => [t.name, { rps: [], p50: [], cpu: [], backendCpu: [], errors: 0 }]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const before = t.child ? cpuTicks(t.child.pid) : 0;
      const backendBefore = cpuTicks(fast.pid);
      const r = await wrk(t.url, LOAD);
      const cpuMs = t.child ? ((cpuTicks(t.child.pid) - before) * TICK_MS) / r.requests : NaN;
      const backendMs = ((cpuTicks(fast.pid) - backendBefore) * TICK_MS) / r.requests;
      const row = /** @type {NonNullable<ReturnType<typeof runs.get>>} */ (runs.get(t.name));
      row.rps.push(r.rps);
      row.p50.push(r.p50);
      row.cpu.push(cpuMs);
      row.backendCpu.push(backendMs);
      row.errors += r.errors;
      process.stdout.write(`  round ${round} ${t.name}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, proxy ${cpuMs.toFixed(4)} ms CPU/req, errors ${r.errors}\n`);
    }
  }

  process.stdout.write(`low load (${LOW_LOAD.connections} connections, ${LOW_LOAD.seconds} s)...\n`);
  /** @type {Map<string, number>} */
  const low = new Map();
  for (const t of targets) low.set(t.name, (await wrk(t.url, LOW_LOAD)).p50);

  const floorRow = runs.get(targets[1].name);
  const floorCpu = median(/** @type {NonNullable<typeof floorRow>} */ (floorRow).cpu);
  const direct = /** @type {number} */ (low.get(targets[0].name));
  const md = [
    `## head-splice prototype vs floor proxy (${new Date().toISOString().slice(0, 16)}Z, ${availableParallelism()} cores, Node ${process.version})`,
    '',
    `\`wrk -t1 -c${LOAD.connections} -d${LOAD.seconds}s --latency ${PATH}\`, ${ROUNDS} interleaved rounds after a 2 s warm-up each; one fast-backend.mjs behind every proxy. Medians (min–max over rounds). CPU ms/request = utime+stime of the proxy process (nginx: master + worker) during the run / requests (10 ms ticks).`,
    '',
    '| target | requests/s | p50 ms | proxy CPU ms/request | × floor CPU | backend CPU ms/request | errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...targets.map((t) => {
      const r = /** @type {NonNullable<ReturnType<typeof runs.get>>} */ (runs.get(t.name));
      const ratio = t.child ? (median(r.cpu) / floorCpu).toFixed(2) : '–';
      return `| ${t.name} | ${spread(r.rps, 0)} | ${spread(r.p50, 2)} | ${t.child ? spread(r.cpu, 4) : '–'} | ${ratio} | ${spread(r.backendCpu, 4)} | ${r.errors} |`;
    }),
    '',
    `Low load: \`wrk -t1 -c${LOW_LOAD.connections} -d${LOW_LOAD.seconds}s --latency\`, one run each (wrk's percentiles are coarse at this scale).`,
    '',
    '| target | p50 ms | added p50 ms (target − direct) |',
    '|---|---:|---:|',
    ...targets.map((t) => {
      const p = /** @type {number} */ (low.get(t.name));
      return `| ${t.name} | ${p.toFixed(3)} | ${t.child ? (p - direct).toFixed(3) : '–'} |`;
    }),
    '',
    'Correctness through the prototype (inline echo backend answering body length and sha256):',
    '',
    ...checks.map((c) => `- ${c.ok ? 'ok' : '**FAIL**'}: ${c.check} (${c.detail})`),
    '',
  ].join('\n');
  process.stdout.write(`\n${md}`);
  if (process.argv[2]) writeFileSync(process.argv[2], md);

  for (const c of [...children].reverse()) await stop(c);
  if (nginxDir) rmSync(nginxDir, { recursive: true, force: true });
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
