// Start-up smoke test of the built node (dist/main.js) as an operator runs it: on the
// embedded database by default, or on DATABASE_URL when set. Checks BLAKE3 against the
// official test vectors, health and the OpenAPI document, then restarts on the same data after
// a crash (SIGKILL), and stops it with SIGTERM, which must end with exit status 0 (a clean stop).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const VECTORS = [
  ['', 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  ['\u0000', '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
];

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function fail(message) {
  console.error(`smoke: FAIL ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

async function startNode(env) {
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${env.PORT}`;
  // Bounded: a first start initialises the embedded database, slower on a busy machine.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail(`node exited early:\n${output}`);
    const ok = await fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  fail(`node did not become healthy in 120 s:\n${output}`);
}

/** Sends `signal` and resolves to the exit: { code, signal }. */
const stopNode = (child, signal) =>
  new Promise((resolve) => {
    child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    child.kill(signal);
  });

async function check(url) {
  for (const [data, hash] of VECTORS) {
    const res = await fetch(`${url}/api/blake3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data }),
    });
    const body = await res.json();
    if (res.status !== 200 || body.hash !== hash) fail(`blake3(${JSON.stringify(data)}) = ${JSON.stringify(body)}`);
  }
  const doc = await (await fetch(`${url}/api/docs-json`)).json();
  if (!/^3\./.test(doc.openapi ?? '')) fail('docs-json is not an OpenAPI 3 document');
  const health = await (await fetch(`${url}/api/health`)).json();
  if (health.status !== 'ok') fail(`health: ${JSON.stringify(health)}`);
  return health;
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kp-smoke-'));
try {
  const env = { PORT: String(await freePort()), KEYPEARS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  let started = Date.now();
  let node = await startNode(env);
  const health = await check(node.url);
  console.log(`smoke: node healthy on ${health.database.kind} database after ${Date.now() - started} ms`);
  await stopNode(node.child, 'SIGKILL'); // a crash, not a clean stop
  started = Date.now();
  node = await startNode(env);
  await check(node.url);
  console.log(`smoke: restarted on the same data after ${Date.now() - started} ms`);
  const stopped = await stopNode(node.child, 'SIGTERM');
  if (stopped.code !== 0) fail(`SIGTERM ended the node with ${JSON.stringify(stopped)}, not exit status 0`);
  console.log('smoke: stopped by SIGTERM with exit status 0');
  console.log('smoke: ok');
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
