// Child-process supervision for the benchmark: every process the bench starts is recorded here by
// PID and stopped by PID (never by name) when its owner is done, on exit, on SIGINT/SIGTERM and on
// the global time bound.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * @typedef {object} Child
 * @property {string} name
 * @property {number} pid
 * @property {import('node:child_process').ChildProcess} proc
 * @property {string} logFile
 * @property {Promise<{code: number|null, signal: string|null}>} exited
 * @property {boolean} done
 * @property {string} tail  last few KiB of stdout+stderr (for error messages)
 * @property {(pattern: RegExp, timeoutMs: number) => Promise<string>} waitForOutput
 * @property {(signal?: NodeJS.Signals, graceMs?: number) => Promise<void>} stop
 * @property {(signal: NodeJS.Signals) => boolean} signal  sends one signal by PID without waiting (SIGSTOP, SIGCONT, SIGKILL for fault injection); false when the process is gone
 */

/** @type {Set<Child>} */
const live = new Set();
let handlersInstalled = false;

/**
 * Starts a child process, its output going to `logFile` (and kept in a short tail in memory).
 * With `nofile`, the command runs through `bash -c 'ulimit -n N; exec ...'` so the raised limit
 * applies to the child only (exec keeps the PID, so stopping by PID still works).
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {{env?: NodeJS.ProcessEnv, cwd?: string, logFile: string, nofile?: number, stdin?: boolean}} opts
 * @returns {Child}
 */
export function startChild(name, command, args, opts) {
  installHandlers();
  mkdirSync(dirname(opts.logFile), { recursive: true });
  let cmd = command;
  let argv = args;
  if (opts.nofile) {
    const quoted = [command, ...args].map(shellQuote).join(' ');
    cmd = 'bash';
    argv = ['-c', `ulimit -n ${opts.nofile} && exec ${quoted}`];
  }
  const proc = spawn(cmd, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  /** @type {Child} */
  const child = {
    name,
    pid: proc.pid ?? -1,
    proc,
    logFile: opts.logFile,
    done: false,
    tail: '',
    exited: new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        child.done = true;
        live.delete(child);
        resolve({ code, signal });
      });
      proc.once('error', (err) => {
        child.tail += `\nspawn error: ${err.message}`;
        child.done = true;
        live.delete(child);
        resolve({ code: -1, signal: null });
      });
    }),
    waitForOutput: (pattern, timeoutMs) => waitForOutput(child, pattern, timeoutMs),
    stop: (signal = 'SIGTERM', graceMs = 5_000) => stopChild(child, signal, graceMs),
    signal: (signal) => {
      if (child.done) return false;
      try {
        process.kill(child.pid, signal);
        return true;
      } catch {
        return false;
      }
    },
  };
  const onData = (/** @type {Buffer} */ chunk) => {
    log.write(chunk);
    child.tail = (child.tail + chunk.toString('utf8')).slice(-4_000);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.once('exit', () => log.end());
  live.add(child);
  return child;
}

/**
 * @param {Child} child
 * @param {RegExp} pattern
 * @param {number} timeoutMs
 * @returns {Promise<string>}
 */
function waitForOutput(child, pattern, timeoutMs) {
  return new Promise((resolve, reject) => {
    const m0 = child.tail.match(pattern);
    if (m0) return resolve(m0[0]);
    const timer = setTimeout(() => finish(new Error(`${child.name}: no ${pattern} within ${timeoutMs} ms; output: ${child.tail.slice(-600)}`)), timeoutMs);
    const onData = () => {
      const m = child.tail.match(pattern);
      if (m) finish(null, m[0]);
    };
    const onExit = () => finish(new Error(`${child.name} exited before ${pattern}; output: ${child.tail.slice(-600)}`));
    /** @param {Error|null} err @param {string} [value] */
    function finish(err, value) {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      child.proc.stderr?.off('data', onData);
      child.proc.off('exit', onExit);
      if (err) reject(err);
      else resolve(/** @type {string} */ (value));
    }
    // 'data' listeners registered after ours in startChild, so the tail is already updated.
    child.proc.stdout?.on('data', onData);
    child.proc.stderr?.on('data', onData);
    child.proc.once('exit', onExit);
  });
}

/**
 * Signals one child by its PID and waits for it; SIGKILL after `graceMs`.
 * @param {Child} child
 * @param {NodeJS.Signals} signal
 * @param {number} graceMs
 */
async function stopChild(child, signal, graceMs) {
  if (child.done) return;
  try {
    process.kill(child.pid, signal);
    // A child paused by fault injection (SIGSTOP) acts on SIGTERM only once continued.
    if (signal !== 'SIGKILL' && signal !== 'SIGCONT') process.kill(child.pid, 'SIGCONT');
  } catch {
    /* already gone */
  }
  const timer = setTimeout(() => {
    try {
      if (!child.done) process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Stops every child still running (in reverse start order), each by its PID. */
export async function stopAll(graceMs = 3_000) {
  const children = [...live].reverse();
  await Promise.all(children.map((c) => c.stop('SIGTERM', graceMs)));
}

/** Number of children still running (for a final sanity line). */
export function liveChildren() {
  return [...live].map((c) => `${c.name}(${c.pid})`);
}

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Last resort on a synchronous exit: SIGKILL what is left, by PID, with the children those
  // started themselves (nginx/HAProxy workers would otherwise outlive a killed master).
  process.on('exit', () => {
    const pids = descendants([...live].map((c) => c.pid));
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

/** @param {string} s */
function shellQuote(s) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The given PIDs and all their descendants, children first listed after their parent (from /proc).
 * @param {number[]} roots
 * @returns {number[]}
 */
function descendants(roots) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const s = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
        if (!children.has(ppid)) children.set(ppid, []);
        children.get(ppid)?.push(Number(d));
      } catch {
        /* exited meanwhile */
      }
    }
  } catch {
    return roots; // no /proc
  }
  const out = [];
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const pid = /** @type {number} */ (stack.pop());
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}
