// The machine and the versions a report must name.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** @param {string} cmd @param {string[]} args */
function out(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    // nginx -v writes to stderr; wrk -v exits 1
    const e = /** @type {any} */ (err);
    return String(e.stdout || e.stderr || '').trim() || null;
  }
}

/** @param {string} cmd @param {string[]} args */
function outErr(cmd, args) {
  try {
    const r = execFileSync('bash', ['-c', `${cmd} ${args.join(' ')} 2>&1`], { encoding: 'utf8' });
    return r.trim();
  } catch (err) {
    return String(/** @type {any} */ (err).stdout ?? '').trim() || null;
  }
}

/** @param {string} root */
export function machineInfo(root) {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  let nofileHard = NaN;
  try {
    nofileHard = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
  } catch {
    /* unknown */
  }
  return {
    cpu: model,
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: out('uname', ['-r']),
    os: (() => {
      try {
        return readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? null;
      } catch {
        return null;
      }
    })(),
    nofileHard,
    versions: {
      node: process.version,
      package: `${pkg.name}@${pkg.version}`,
      git: out('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
      gitDirty: Boolean(out('git', ['-C', root, 'status', '--porcelain'])),
      nginx: outErr('nginx', ['-v'])?.replace(/^nginx version:\s*/, '') ?? null,
      haproxy: outErr('haproxy', ['-v'])?.split('\n')[0]?.replace(/ - https.*$/, '') ?? null,
      redis: outErr('redis-server', ['-v'])?.match(/v=([\d.]+)/)?.[1] ?? null,
      wrk: outErr('wrk', ['-v'])?.split('\n')[0]?.replace(/ Copyright.*$/, '') ?? null,
      undici: readPkgVersion(root, 'undici'),
      ws: readPkgVersion(root, 'ws'),
      ioredis: readPkgVersion(root, 'ioredis'),
    },
  };
}

/** @param {string} root @param {string} name */
function readPkgVersion(root, name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}
