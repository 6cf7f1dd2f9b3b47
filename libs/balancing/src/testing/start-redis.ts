import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files for a TLS-only redis-server (PEM paths). Clients are not asked for a certificate. */
export interface RedisTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface StartRedisOptions {
  /** The redis-server binary; defaults to $REDIS_SERVER_BIN or `redis-server` on the PATH. */
  readonly binary?: string;
  /** A fixed port (restarts always reuse the port of the first start); default: a free one. */
  readonly port?: number;
  /** Append-only file on, with `appendfsync always`, so a SIGKILL loses no acknowledged write. */
  readonly appendonly?: boolean;
  /**
   * The data dir (AOF, and the RDB a replica receives). Default: a fresh temp dir when
   * `appendonly` is on (removed on stop), otherwise the working directory as before.
   * A dir passed here is never removed, but `restart({ empty: true })` deletes its contents.
   */
  readonly dir?: string;
  /** `--requirepass`; the url stays without credentials, pass `handle.password` to the client. */
  readonly password?: string;
  /** Extra redis-server arguments, appended last (so they win over the defaults). */
  readonly args?: readonly string[];
  /** Serve TLS only (`--port 0 --tls-port P`); the url becomes `rediss://`. */
  readonly tls?: RedisTlsFiles;
  /** How long one start may take before it counts as failed (default 10 s). */
  readonly startTimeoutMs?: number;
}

export interface RestartRedisOptions {
  /** Delete the data dir's contents first, so the server comes back with no data. */
  readonly empty?: boolean;
}

export interface RedisServerHandle {
  /** `redis://127.0.0.1:P`, or `rediss://` with TLS; never carries credentials. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The PID of the current process (changes on restart). */
  readonly pid: number;
  readonly password: string | undefined;
  /** The data dir, when there is one. */
  readonly dir: string | undefined;
  /** True while the current process has not exited (a paused process counts as running). */
  readonly running: boolean;
  /** SIGKILL; resolves when the process has exited. Nothing is flushed. */
  kill(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing. Resolves once it is stopped. */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): Promise<void>;
  /**
   * Starts a new redis-server on the same port with the same options and waits until it is
   * ready (so its AOF has been loaded). A process that is still running is stopped first
   * with SIGTERM (a graceful shutdown); `empty: true` wipes the data dir before the start.
   */
  restart(options?: RestartRedisOptions): Promise<void>;
  /** SIGCONT + SIGTERM (SIGKILL after 10 s), resolves on exit; removes the temp dir. Final and idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_LINE = 'Ready to accept connections';
const SAME_PORT_RETRY_MS = 5_000;

/** A port that was free a moment ago (the kernel picks it; redis-server cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a throwaway redis-server on a loopback port and waits until it is ready. With no
 * arguments: non-persistent, on a free port. A string argument is the binary (older callers).
 */
export async function startRedis(binaryOrOptions?: string | StartRedisOptions): Promise<RedisServerHandle> {
  const options: StartRedisOptions = typeof binaryOrOptions === 'string' ? { binary: binaryOrOptions } : (binaryOrOptions ?? {});
  const binary = options.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const ownDir = options.dir === undefined && options.appendonly ? mkdtempSync(join(tmpdir(), 'lb-redis-')) : undefined;
  const dir = options.dir ?? ownDir;
  const removeOwnDir = () => ownDir && rmSync(ownDir, { recursive: true, force: true });

  let port: number;
  let proc: RedisProcess;
  try {
    if (options.port !== undefined) {
      port = options.port;
      proc = await launchOnSamePort(binary, serverArgs(options, port, dir), options.startTimeoutMs);
    } else {
      for (let attempt = 1; ; attempt++) {
        port = await freePort();
        try {
          proc = await spawnRedisProcess(binary, serverArgs(options, port, dir), { timeoutMs: options.startTimeoutMs });
          break;
        } catch (err) {
          if (attempt >= 3) throw err; // the port may have been taken between freePort() and the start
        }
      }
    }
  } catch (err) {
    removeOwnDir();
    throw err;
  }

  let stopped = false;
  const handle: RedisServerHandle = {
    url: `${options.tls ? 'rediss' : 'redis'}://${HOST}:${port}`,
    host: HOST,
    port,
    get pid() {
      return proc.pid;
    },
    password: options.password,
    dir,
    get running() {
      return !proc.exited;
    },
    kill: () => proc.kill(),
    pause: () => proc.pause(),
    resume: () => proc.resume(),
    async restart(restartOptions: RestartRedisOptions = {}) {
      if (stopped) throw new Error(`redis-server on port ${port} was stopped; start a new one`);
      await proc.terminate();
      if (restartOptions.empty && dir) emptyDir(dir);
      proc = await launchOnSamePort(binary, serverArgs(options, port, dir), options.startTimeoutMs);
    },
    async stop() {
      stopped = true;
      await proc.terminate();
      removeOwnDir();
    },
  };
  return handle;
}

function serverArgs(options: StartRedisOptions, port: number, dir: string | undefined): string[] {
  const args = options.tls
    ? [
        '--port', '0',
        '--tls-port', String(port),
        '--tls-cert-file', options.tls.certFile,
        '--tls-key-file', options.tls.keyFile,
        '--tls-ca-cert-file', options.tls.caFile,
        '--tls-auth-clients', 'no',
      ]
    : ['--port', String(port)];
  args.push('--bind', HOST, '--save', '');
  args.push(...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  args.push('--protected-mode', 'yes');
  if (dir !== undefined) args.push('--dir', dir);
  if (options.password !== undefined) args.push('--requirepass', options.password);
  args.push(...(options.args ?? []));
  return args;
}

/** Retries while the port is still held (an exiting process, TIME_WAIT), up to 5 s. */
async function launchOnSamePort(binary: string, args: string[], timeoutMs: number | undefined): Promise<RedisProcess> {
  const deadline = Date.now() + SAME_PORT_RETRY_MS;
  for (;;) {
    try {
      return await spawnRedisProcess(binary, args, { timeoutMs });
    } catch (err) {
      if (!(err instanceof RedisStartError && err.addressInUse) || Date.now() >= deadline) throw err;
      await sleep(100);
    }
  }
}

function emptyDir(dir: string): void {
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// One redis-server (or sentinel) process, addressed only by its PID.

export class RedisStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}:\n${output}`);
    this.name = 'RedisStartError';
  }
  get addressInUse(): boolean {
    return this.output.includes('Address already in use');
  }
}

export interface SpawnRedisOptions {
  /** A line that means "ready" on stdout/stderr (default: redis-server's "Ready to accept connections"). */
  readonly readyLine?: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** Low-level: spawns `binary args` and resolves once `readyLine` was printed. Used by startRedis and the sentinel group. */
export function spawnRedisProcess(binary: string, args: readonly string[], options: SpawnRedisOptions = {}): Promise<RedisProcess> {
  const readyLine = options.readyLine ?? READY_LINE;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const child = spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd });
  const proc = new RedisProcess(child);
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(`${binary} did not become ready within ${timeoutMs} ms`), timeoutMs);
    const check = () => {
      if (settled || !proc.output.includes(readyLine)) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      proc.onOutput = undefined;
      resolve(proc);
    };
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!proc.exited) void proc.kill();
      reject(new RedisStartError(message, proc.output));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`${binary} exited (code ${code}, signal ${signal})`);
    proc.onOutput = check;
    child.once('error', (err) => fail(`cannot start ${binary}: ${err.message} (install it: apt-get install -y redis-server)`));
    child.once('exit', onExit);
  });
}

const OUTPUT_LIMIT = 64 * 1024;
const live = new Set<RedisProcess>();
let exitHookInstalled = false;

/** Last resort when a test forgets stop(): SIGKILL every process still alive, by its PID. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) {
      try {
        if (proc.pid > 0) process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export class RedisProcess {
  /** The process's stdout and stderr (the last 64 KiB). */
  output = '';
  /** @internal */
  onOutput: (() => void) | undefined;
  readonly pid: number;
  private readonly exit: Promise<void>;
  private exitedFlag = false;

  constructor(private readonly child: ChildProcess) {
    this.pid = child.pid ?? -1;
    this.exit = new Promise((resolve) => {
      child.once('exit', () => {
        this.exitedFlag = true;
        live.delete(this);
        resolve();
      });
      child.once('error', () => {
        if (child.pid === undefined) {
          this.exitedFlag = true;
          resolve();
        }
      });
    });
    if (child.pid !== undefined) {
      live.add(this);
      installExitHook();
    }
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > OUTPUT_LIMIT) this.output = this.output.slice(-OUTPUT_LIMIT);
      this.onOutput?.();
    };
    child.stdout?.on('data', onData); // always drained, so the server never blocks on a full pipe
    child.stderr?.on('data', onData);
  }

  get exited(): boolean {
    return this.exitedFlag;
  }

  /** Resolves when the process has exited. */
  waitForExit(): Promise<void> {
    return this.exit;
  }

  /** SIGKILL (works on a paused process too). */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exit;
  }

  async pause(): Promise<void> {
    if (this.exited) throw new Error(`process ${this.pid} has exited; nothing to pause`);
    this.signal('SIGSTOP');
    await this.waitForState((state) => state === 'T' || state === 't');
  }

  async resume(): Promise<void> {
    this.signal('SIGCONT');
    await this.waitForState((state) => state !== 'T' && state !== 't');
  }

  /** SIGCONT (in case it is paused) and SIGTERM; SIGKILL if it has not exited after `graceMs`. */
  async terminate(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    const outcome = await Promise.race([this.exit, late]);
    clearTimeout(timer);
    if (outcome === 'late') await this.kill();
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.exited || this.pid <= 0) return; // never a group or "every process" PID
    try {
      process.kill(this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** Polls the state letter in /proc/PID/stat (Linux); elsewhere it returns at once. */
  private async waitForState(done: (state: string) => boolean): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (!this.exited && Date.now() < deadline) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      } catch {
        return;
      }
      if (done(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) return;
      await sleep(5);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
