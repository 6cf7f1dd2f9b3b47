// The start scripts of infra/nomad/redis.nomad.hcl, taken from the job as Nomad would render them and
// run against real redis-server processes (in Sentinel mode for the sentinels) on this machine: a
// first deployment elects allocation 0, the replica follows it, the sentinels agree on it, a killed
// master is replaced by the replica, and the old master comes back as a replica. Each "allocation" is
// a folder with the job's local/, secrets/ and data/; the container paths and ports are rewritten to
// it. Skipped without redis-server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { hclEvaluator, labeled, merged } = require('./context.cjs') as {
  hclEvaluator(parsed: unknown): { evaluate(v: unknown): unknown };
  labeled(v: unknown): Array<[string, Record<string, unknown>]>;
  merged(v: unknown): Record<string, unknown>;
};

const root = join(__dirname, '..', '..');
const PASSWORD = 'redis-sentinel-spec-0123';
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

type Script = { files: Record<string, string>; env: Record<string, string> };
type Alloc = { dir: string; port: number; child: ChildProcess };

/** The templates and env of the job's task in `group`, with HCL's `$${` and locals resolved. */
async function taskOf(group: string): Promise<Script> {
  const hcl = require('@cdktf/hcl2json') as { parse(name: string, text: string): Promise<Record<string, unknown>> };
  const parsed = await hcl.parse('redis.nomad.hcl', readFileSync(join(root, 'infra/nomad/redis.nomad.hcl'), 'utf8'));
  const ev = hclEvaluator(parsed);
  const job = labeled(parsed.job)[0][1];
  const g = labeled(job.group).find(([name]) => name === group)![1];
  const task = labeled(g.task)[0][1];
  const files: Record<string, string> = {};
  for (const tpl of task.template as Array<Record<string, unknown>>) files[String(tpl.destination)] = String(ev.evaluate(tpl.data)).replace(/\$\$\{/g, '${');
  const env = Object.fromEntries(Object.entries(merged(task.env)).map(([k, v]) => [k, String(ev.evaluate(v))]));
  return { files, env };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-p', String(port), '--no-auth-warning', '--raw', ...args], { encoding: 'utf8', env: { ...process.env, REDISCLI_AUTH: PASSWORD }, timeout: 3_000 });
  return (r.stdout ?? '').trim().split('\n').join(' ');
}

async function until(what: string, probe: () => boolean, ms = 40_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

(hasRedis ? describe : describe.skip)('Redis under Sentinel: the start scripts of infra/nomad/redis.nomad.hcl', () => {
  jest.setTimeout(120_000);
  const base = mkdtempSync(join(tmpdir(), 'lb-redis-ha-'));
  const running: Alloc[] = [];
  let redis: Script;
  let sentinel: Script;
  let redisPorts: number[];
  let sentinelPorts: number[];

  /** What nomadService would render into local/peers.env for these allocations. */
  const peers = () =>
    [
      `SENTINELS="${sentinelPorts.map((p) => `127.0.0.1:${p} `).join('')}"`,
      `REDIS_NODES="${redisPorts.map((p) => `127.0.0.1:${p} `).join('')}"`,
      `FIRST_MASTER="127.0.0.1:${redisPorts[0]}"`,
    ].join('\n');

  function start(kind: 'redis' | 'sentinel', name: string, port: number, index: number): Alloc {
    const script = kind === 'redis' ? redis : sentinel;
    const dir = join(base, name);
    rmSync(dir, { recursive: true, force: true });
    for (const sub of ['local', 'secrets', 'data']) mkdirSync(join(dir, sub), { recursive: true });
    const containerPort = kind === 'redis' ? '6379' : '26379';
    for (const [dest, text] of Object.entries({ ...script.files, 'local/peers.env': peers() })) {
      let body = text
        .replace(/\/(local|secrets|data)\b/g, `${dir}/$1`)
        .replace(/exec docker-entrypoint\.sh /g, 'exec ')
        .replace(/^\s*chown .*$/m, ':')
        .replace(`port ${containerPort}`, `port ${port}`);
      // Rendered from the Nomad Variable lb/redis: the password template, filled in as Nomad would.
      if (/requirepass/.test(text) && /nomadVar/.test(text)) body = `requirepass "${PASSWORD}"\nmasterauth "${PASSWORD}"\n`;
      if (dest === 'local/start.sh' && kind === 'redis') body = body.replace(/"\$@"\s*$/, `--port ${port} "$@"\n`);
      writeFileSync(join(dir, dest), body);
    }
    const ip = kind === 'redis' ? 'redis' : 'sentinel';
    const child = spawn('sh', [join(dir, 'local/start.sh')], {
      cwd: join(dir, 'data'),
      env: { PATH: process.env.PATH ?? '', ...script.env, NOMAD_ALLOC_INDEX: String(index), [`NOMAD_IP_${ip}`]: '127.0.0.1', [`NOMAD_HOST_PORT_${ip}`]: String(port) },
      stdio: 'ignore',
    });
    const alloc = { dir, port, child };
    running.push(alloc);
    return alloc;
  }

  const masterNamedBy = (port: number) => cli(port, 'SENTINEL', 'get-master-addr-by-name', 'mymaster');
  const role = (port: number) => cli(port, 'ROLE').split(' ').slice(0, 3).join(' ');

  beforeAll(async () => {
    [redis, sentinel] = await Promise.all([taskOf('redis'), taskOf('sentinel')]);
    redisPorts = [await freePort(), await freePort()];
    sentinelPorts = [await freePort(), await freePort(), await freePort()];
  });

  afterAll(async () => {
    for (const { child } of running) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(base, { recursive: true, force: true });
  });

  it('first deployment: allocation 0 is the master, 1 replicates it, the sentinels agree', async () => {
    start('redis', 'redis-0', redisPorts[0], 0);
    await until('redis-0 answers', () => role(redisPorts[0]).startsWith('master'));
    start('redis', 'redis-1', redisPorts[1], 1);
    await until('redis-1 replicates redis-0', () => role(redisPorts[1]) === `slave 127.0.0.1 ${redisPorts[0]}`);
    sentinelPorts.forEach((port, i) => start('sentinel', `sentinel-${i}`, port, i));
    await until('every sentinel names redis-0', () => sentinelPorts.every((p) => masterNamedBy(p) === `127.0.0.1 ${redisPorts[0]}`));
    expect(cli(redisPorts[0], 'PING')).toBe('PONG');
    expect(spawnSync('redis-cli', ['-p', String(redisPorts[0]), 'PING'], { encoding: 'utf8' }).stdout.trim()).toMatch(/NOAUTH/);
  });

  it('the master is killed: the sentinels promote the replica; the old master returns as its replica', async () => {
    const old = running.find((a) => a.port === redisPorts[0])!;
    old.child.kill('SIGKILL');
    await until('the sentinels name redis-1', () => sentinelPorts.every((p) => masterNamedBy(p) === `127.0.0.1 ${redisPorts[1]}`));
    expect(role(redisPorts[1])).toMatch(/^master /);
    start('redis', 'redis-0-again', redisPorts[0], 0);
    await until('redis-0 replicates redis-1', () => role(redisPorts[0]) === `slave 127.0.0.1 ${redisPorts[1]}`);
  });
});
