// A MEASURED PROTOTYPE, NOT THE PRODUCT. It answers the issue's question "what would meet the CPU
// goal if node:http cannot": a keep-alive HTTP/1.1 reverse proxy on bare `net` sockets that parses
// only message heads and splices the bytes after them. Client side: buffer until CRLF CRLF (16 KiB
// cap), read the request line and the five headers that decide framing (Host count,
// Content-Length, Transfer-Encoding, Connection, Upgrade), pick the backend with the fewest
// requests in flight from this process, write the original head plus X-Forwarded-For /
// X-Forwarded-Proto / X-Request-Id to a pooled keep-alive upstream socket, then relay the body by
// framing (a byte count, or a chunk-size state machine that only finds the end). Upstream side:
// read the status line and framing headers, write every received buffer through to the client
// (pausing the upstream while the client's buffer is full), find the end by framing, pool the
// socket. Measured by measure-head-splice.mjs against tools/bench/floor-proxy.mjs.
//
// Left out: TLS, HTTP/2, upgrades (501), Expect handling (a 1xx is relayed uninterpreted),
// trailers with a meaning (relayed as bytes), hop-by-hop stripping in either direction (the
// client's Connection/Keep-Alive/TE go up unchanged, the backend's come back unchanged; a backend
// `Connection: close` also closes the client), timeouts of any kind, retry of a request whose
// pooled socket the backend had just closed (answered 502), header value validation, leading
// empty lines, obs-fold (refused), and most of the hardening llhttp does.
//
// Why the product does not do this today: node:http (llhttp) and undici give the gateway RFC 9112
// parsing and validation, request-smuggling defences, header/request/keep-alive timeouts, 100-
// continue, trailers, WebSocket upgrades and hop-by-hop rules that are tested by millions of
// deployments. A head-splicing data path would have to re-implement and fuzz every one of them and
// would be ours to own forever; this file exists to put a number on what that would buy.
//
// env: PROTO_PORT, PROTO_UPSTREAMS (comma-separated origins, e.g. http://127.0.0.1:9001)
import net from 'node:net';

const MAX_HEAD_BYTES = 16 * 1024; // request heads; beyond: 431 and close
const MAX_RESPONSE_HEAD_BYTES = 64 * 1024; // response heads; beyond: treated as a failed upstream
const MAX_IDLE_PER_BACKEND = 256;
const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
const REASONS = /** @type {Record<number, string>} */ ({ 400: 'Bad Request', 431: 'Request Header Fields Too Large', 501: 'Not Implemented', 502: 'Bad Gateway' });

/** @typedef {{host: string, port: number, inFlight: number, idle: Upstream[]}} Backend */
/** @typedef {{socket: net.Socket, backend: Backend, conn: ClientConnection | null}} Upstream */
/** @typedef {{end: number, isHead: boolean, contentLength: number, chunked: boolean, close: boolean}} RequestHead */
/** @typedef {{status: number, contentLength: number, chunked: boolean, close: boolean}} ResponseHead */

/** @type {Backend[]} */
const backends = (process.env.PROTO_UPSTREAMS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((origin) => {
    const u = new URL(origin);
    return { host: u.hostname, port: Number(u.port || 80), inFlight: 0, idle: [] };
  });
if (backends.length === 0) throw new Error('head-splice-proxy: set PROTO_UPSTREAMS');

const idPrefix = `${process.pid.toString(36)}-`;
let requestSeq = 0;

/** The backend with the fewest requests in flight from this process (ties: the first). */
function pickLeastLoaded() {
  let best = backends[0];
  for (const b of backends) if (b.inFlight < best.inFlight) best = b;
  return best;
}

/** An idle pooled socket to `backend`, or a new one (writes before connect are buffered). */
/** @param {Backend} backend @returns {Upstream} */
function takeUpstream(backend) {
  const pooled = backend.idle.pop();
  if (pooled) return pooled;
  const socket = net.connect({ host: backend.host, port: backend.port, noDelay: true });
  /** @type {Upstream} */
  const up = { socket, backend, conn: null };
  socket.on('data', (chunk) => (up.conn ? up.conn.onUpstreamData(chunk) : socket.destroy())); // idle + bytes: out of step
  socket.on('close', () => {
    const i = backend.idle.indexOf(up);
    if (i >= 0) backend.idle.splice(i, 1);
    up.conn?.onUpstreamClose();
  });
  socket.on('error', () => {}); // 'close' follows and is where it is handled
  return up;
}

// Chunked framing states (RFC 9112 7.1): only where the body ends matters, nothing is decoded.
const SIZE = 0, EXT = 1, SIZE_LF = 2, DATA = 3, DATA_CR = 4, DATA_LF = 5, TRAILER = 6, TRAILER_LINE = 7, TRAILER_LINE_LF = 8, END_LF = 9;

class ChunkedEnd {
  state = SIZE;
  size = 0;
  digits = 0;
  left = 0;
  /**
   * @param {Buffer} b
   * @param {number} i  where this message's bytes start in `b`
   * @returns {number} the index just past the body's last byte, -1 if it goes on past `b`, -2 on a framing error
   */
  scan(b, i) {
    while (i < b.length) {
      if (this.state === DATA) {
        const n = Math.min(this.left, b.length - i);
        i += n;
        if ((this.left -= n) === 0) this.state = DATA_CR;
        continue;
      }
      const c = b[i++];
      switch (this.state) {
        case SIZE: {
          const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
          if (d >= 0) {
            if (++this.digits > 12) return -2;
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) return -2;
          else if (c === 0x0d) this.state = SIZE_LF;
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = EXT; // ';' or BWS before it
          else return -2;
          break;
        }
        case EXT: if (c === 0x0d) this.state = SIZE_LF; else if (c === 0x0a) return -2; break;
        case SIZE_LF:
          if (c !== 0x0a) return -2;
          this.state = this.size === 0 ? TRAILER : DATA;
          this.left = this.size;
          this.size = this.digits = 0;
          break;
        case DATA_CR: if (c !== 0x0d) return -2; this.state = DATA_LF; break;
        case DATA_LF: if (c !== 0x0a) return -2; this.state = SIZE; break;
        case TRAILER: if (c === 0x0a) return -2; this.state = c === 0x0d ? END_LF : TRAILER_LINE; break; // a line's start
        case TRAILER_LINE: if (c === 0x0d) this.state = TRAILER_LINE_LF; else if (c === 0x0a) return -2; break;
        case TRAILER_LINE_LF: if (c !== 0x0a) return -2; this.state = TRAILER; break;
        case END_LF:
          return c === 0x0a ? i : -2;
      }
    }
    return -1;
  }
}

/**
 * Splits a head (up to its final CRLF CRLF at `end`) into lines and hands the framing headers to
 * `onHeader`; other headers are only checked for a colon and no whitespace before it.
 * @param {Buffer} buf @param {number} end
 * @param {(name: string, value: string) => boolean} onHeader  false: refuse the message
 * @returns {string | null} the start line, or null if the head is malformed
 */
function scanHead(buf, end, onHeader) {
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    const before = line.charCodeAt(colon - 1);
    if (colon <= 0 || before === 0x20 || before === 0x09 || line.includes('\n') || line.includes('\r')) return null;
    // Only names 4, 7, 10, 14 and 17 long can matter: lowercasing the rest would be wasted.
    if (colon !== 4 && colon !== 7 && colon !== 10 && colon !== 14 && colon !== 17) continue;
    if (!onHeader(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())) return null;
  }
  return lines[0].includes('\n') || lines[0].includes('\r') ? null : lines[0];
}

/** @param {Buffer} buf @param {number} end @returns {RequestHead | number} the framing, or the status to refuse with */
function parseRequestHead(buf, end) {
  let hosts = 0, contentLength = -1, te = /** @type {string | null} */ (null), upgrade = false, close = false, keepAlive = false;
  const line = scanHead(buf, end, (name, value) => {
    if (name === 'host') hosts++;
    else if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (contentLength >= 0 && contentLength !== Number(value))) return false;
      contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      if (te !== null) return false;
      te = value.toLowerCase();
    } else if (name === 'upgrade') upgrade = true;
    else if (name === 'connection') {
      for (const t of value.toLowerCase().split(',')) {
        const token = t.trim();
        if (token === 'close') close = true;
        else if (token === 'keep-alive') keepAlive = true;
        else if (token === 'upgrade') upgrade = true;
      }
    }
    return true;
  });
  const m = line === null ? null : /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) [^ ]+ HTTP\/1\.([01])$/.exec(line);
  if (!m) return 400;
  if (upgrade) return 501;
  if (te !== null && te !== 'chunked') return 501; // a coding it cannot frame through
  if ((te !== null && contentLength >= 0) || hosts > 1 || (m[2] === '1' && hosts === 0)) return 400;
  return { end, isHead: m[1] === 'HEAD', contentLength, chunked: te !== null, close: close || (m[2] === '0' && !keepAlive) };
}

/** @param {Buffer} buf @param {number} end @returns {ResponseHead | null} */
function parseResponseHead(buf, end) {
  let contentLength = -1, chunked = false, te = false, close = false, keepAlive = false;
  const line = scanHead(buf, end, (name, value) => {
    if (name === 'content-length') contentLength = /^\d{1,15}$/.test(value) ? Number(value) : -2;
    else if (name === 'transfer-encoding') {
      te = true;
      chunked = /(^|,)\s*chunked\s*$/i.test(value); // chunked must be the last coding
    } else if (name === 'connection') {
      const v = value.toLowerCase();
      close ||= v.includes('close');
      keepAlive ||= v.includes('keep-alive');
    }
    return contentLength !== -2;
  });
  const m = line === null ? null : /^HTTP\/1\.([01]) (\d{3})/.exec(line);
  if (!m) return null;
  // Transfer-Encoding wins over Content-Length, and such a message closes the connection (RFC 9112 6.3).
  return { status: Number(m[2]), contentLength: te ? -1 : contentLength, chunked, close: close || (te && contentLength >= 0) || (m[1] === '0' && !keepAlive) };
}

const HEAD = 0, BODY = 1, WAIT = 2, CLOSED = 3; // client side: reading a head, relaying a body, awaiting the response

class ClientConnection {
  /** @param {net.Socket} socket */
  constructor(socket) {
    this.socket = socket;
    this.phase = HEAD;
    /** @type {Buffer | null} bytes read from the client and not yet handled (a partial head, pipelined requests) */
    this.pending = null;
    this.forwarded = `X-Forwarded-For: ${socket.remoteAddress}\r\nX-Forwarded-Proto: http\r\nX-Request-Id: ${idPrefix}`;
    this.clientEnded = false;
    /** @type {Backend | null} set while a request is counted against it */
    this.backend = null;
    /** @type {Upstream | null} */
    this.up = null;
    this.reqLeft = 0;
    /** @type {ChunkedEnd | null} */ this.reqChunks = null;
    this.reqDone = false;
    this.isHead = false;
    this.closeAfter = false;
    /** @type {Buffer | null} a response head split over reads */ this.resHeadBuf = null;
    this.resFramed = false; // the response head has been read
    this.resLeft = 0;
    /** @type {ChunkedEnd | null} */ this.resChunks = null;
    this.resUntilClose = false;
    this.resStarted = false; // bytes of the response reached the client: too late for a status
    this.resDone = false;
    this.upReusable = false;
    this.resumeClient = () => this.socket.resume();
    this.resumeUpstream = () => this.up?.socket.resume();
    socket.on('data', (chunk) => this.onClientData(chunk));
    socket.on('end', () => this.onClientEnd());
    socket.on('close', () => this.onClientClose());
    socket.on('error', () => {});
  }

  /** @param {Buffer} chunk */
  onClientData(chunk) {
    if (this.phase === CLOSED) return;
    if (this.phase === BODY) return this.relayRequestBody(chunk);
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.phase === HEAD) this.readHead();
    else if (this.pending.length > MAX_HEAD_BYTES) this.socket.pause(); // pipelined: queue about one head's worth
  }

  readHead() {
    const buf = /** @type {Buffer} */ (this.pending);
    const end = buf.indexOf(CRLF2);
    if (end < 0 || end + 4 > MAX_HEAD_BYTES) {
      if (end >= 0 || buf.length > MAX_HEAD_BYTES) this.refuse(431);
      return;
    }
    const head = parseRequestHead(buf, end);
    if (typeof head === 'number') return this.refuse(head);
    this.pending = null;
    const backend = (this.backend = pickLeastLoaded());
    backend.inFlight++;
    const up = (this.up = takeUpstream(backend));
    up.conn = this;
    this.isHead = head.isHead;
    this.closeAfter = head.close;
    this.resFramed = this.resStarted = this.resDone = this.resUntilClose = false;
    this.resChunks = null;
    this.reqChunks = head.chunked ? new ChunkedEnd() : null;
    this.reqLeft = Math.max(head.contentLength, 0);
    this.reqDone = !head.chunked && this.reqLeft === 0;
    this.phase = this.reqDone ? WAIT : BODY;
    const out = Buffer.concat([buf.subarray(0, end + 2), Buffer.from(`${this.forwarded}${(++requestSeq).toString(36)}\r\n\r\n`, 'latin1')]);
    const rest = buf.subarray(end + 4);
    if (rest.length === 0) return void up.socket.write(out);
    up.socket.cork();
    up.socket.write(out);
    if (this.phase === BODY) this.relayRequestBody(rest);
    else this.pending = rest;
    up.socket.uncork();
  }

  /** @param {Buffer} chunk  bytes after the head; those past this body are kept for the next request */
  relayRequestBody(chunk) {
    let n = chunk.length;
    if (this.reqChunks) {
      const at = this.reqChunks.scan(chunk, 0);
      if (at === -2) return this.fail(400);
      this.reqDone = at >= 0;
      if (this.reqDone) n = at;
    } else {
      n = Math.min(this.reqLeft, n);
      this.reqDone = (this.reqLeft -= n) === 0;
    }
    const up = /** @type {Upstream} */ (this.up);
    if (n > 0 && !up.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n)) && !this.reqDone) {
      this.socket.pause();
      up.socket.once('drain', this.resumeClient);
    }
    if (!this.reqDone) return;
    this.phase = WAIT;
    if (n < chunk.length) this.pending = chunk.subarray(n);
    if (this.resDone) this.finishExchange();
  }

  /** @param {Buffer} chunk */
  onUpstreamData(chunk) {
    if (this.resDone) return void (this.upReusable = false); // bytes after the response: out of step
    let buf = chunk;
    let from = 0;
    if (!this.resFramed) {
      if (this.resHeadBuf) buf = Buffer.concat([this.resHeadBuf, chunk]);
      const end = buf.indexOf(CRLF2);
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD_BYTES) return this.fail(502);
        return void (this.resHeadBuf = buf);
      }
      this.resHeadBuf = null;
      const head = parseResponseHead(buf, end);
      if (!head || head.status === 101) return this.fail(502);
      from = end + 4;
      if (head.status < 200) {
        // an interim response: relayed as is, the final head follows
        this.resStarted = true;
        this.socket.write(buf.subarray(0, from));
        if (from < buf.length) this.onUpstreamData(buf.subarray(from));
        return;
      }
      this.resFramed = true;
      const bodiless = this.isHead || head.status === 204 || head.status === 304;
      this.resChunks = !bodiless && head.chunked ? new ChunkedEnd() : null;
      this.resUntilClose = !bodiless && !head.chunked && head.contentLength < 0;
      this.resLeft = bodiless ? 0 : Math.max(head.contentLength, 0);
      this.upReusable = !head.close && !this.resUntilClose;
      if (!this.upReusable) this.closeAfter = true; // the client read the same head: it expects the close too
    }
    let stop = -1; // index just past the response in buf
    if (this.resChunks) {
      stop = this.resChunks.scan(buf, from);
      if (stop === -2) return this.fail(502);
    } else if (!this.resUntilClose) {
      const n = Math.min(this.resLeft, buf.length - from);
      if ((this.resLeft -= n) === 0) stop = from + n;
    }
    if (stop >= 0 && stop < buf.length) this.upReusable = false;
    this.resStarted = true;
    const up = /** @type {Upstream} */ (this.up);
    if (!this.socket.write(stop < 0 || stop === buf.length ? buf : buf.subarray(0, stop)) && stop < 0) {
      up.socket.pause();
      this.socket.once('drain', this.resumeUpstream);
    }
    if (stop < 0) return;
    this.resDone = true;
    if (this.reqDone) this.finishExchange();
  }

  onUpstreamClose() {
    if (this.resFramed && this.resUntilClose && !this.resDone) {
      this.resDone = true; // a close-delimited body ends here
      this.reqDone = true;
      this.finishExchange();
    } else if (!this.resDone) this.fail(502); // connect failure, or death mid-response
    else this.closeClient(); // it answered, but the request body can no longer go up
  }

  finishExchange() {
    const up = /** @type {Upstream} */ (this.up);
    this.release();
    up.socket.removeListener('drain', this.resumeClient);
    this.socket.removeListener('drain', this.resumeUpstream);
    if (this.upReusable && up.backend.idle.length < MAX_IDLE_PER_BACKEND) {
      if (up.socket.isPaused()) up.socket.resume();
      up.backend.idle.push(up);
    } else up.socket.destroy();
    if (this.closeAfter || this.clientEnded) return this.closeClient();
    this.phase = HEAD;
    if (this.socket.isPaused()) this.socket.resume();
    if (this.pending) this.readHead();
  }

  /** Counts the request off its backend (once) and lets go of the upstream socket. */
  release() {
    if (this.backend) this.backend.inFlight--;
    this.backend = null;
    if (this.up) this.up.conn = null;
    this.up = null;
  }

  /** A status if nothing of the response went out yet, else the client connection is cut. @param {number} status */
  fail(status) {
    if (this.resStarted) {
      this.up?.socket.destroy();
      this.release();
      this.phase = CLOSED;
      return void this.socket.destroy();
    }
    this.refuse(status);
  }

  /** @param {number} status */
  refuse(status) {
    this.up?.socket.destroy();
    this.release();
    if (this.phase === CLOSED) return;
    this.socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    this.phase = CLOSED;
  }

  closeClient() {
    this.up?.socket.destroy();
    this.release();
    this.phase = CLOSED;
    this.socket.end();
  }

  onClientEnd() {
    this.clientEnded = true;
    if (this.phase === HEAD) this.closeClient(); // nothing in flight: a partial head is dropped
    else if (this.phase === BODY) this.fail(400); // the body can never complete
  }

  onClientClose() {
    if (this.up) this.up.socket.destroy(); // mid-exchange: the upstream socket is out of step
    this.release();
    this.phase = CLOSED;
  }
}

net
  .createServer({ allowHalfOpen: true, noDelay: true }, (socket) => new ClientConnection(socket))
  .listen(Number(process.env.PROTO_PORT), '127.0.0.1', () => process.stdout.write(`head-splice proxy listening on ${process.env.PROTO_PORT}\n`));
process.once('SIGTERM', () => process.exit(0));
