// Starts one throwaway redis-server for the whole run unless TEST_REDIS_URL is given. Tests
// isolate themselves with their own key prefix. Workers inherit TEST_REDIS_URL from this process.
const { spawn } = require('node:child_process');
const { createServer } = require('node:net');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(port) {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start:\n${output}`));
    }, 10000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start redis-server (${err.message}); install it: apt-get install -y redis-server`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout.resume();
        child.stderr.resume();
        resolve(child);
      }
    });
  });
}

module.exports = async function globalSetup() {
  if (process.env.TEST_REDIS_URL) return;
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const child = await start(port);
      globalThis.__TEST_REDIS__ = child;
      process.env.TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
      return;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
};
