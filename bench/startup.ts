// Cold start (empty embedded data directory: initdb + migrations + first tenant) and warm
// start (existing directory) of `npm start`, measured from spawn until /healthz answers.
// Baseline in the same run: `node -e` starting an empty HTTP server, i.e. what Node alone costs.
// Also the warm start without npm in front, to show how much of it npm itself takes.
//
//   npm run bench:startup          (BENCH_RUNS=5 by default)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function timeToHealthy(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
): Promise<number> {
  const start = process.hrtime.bigint();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: 'ignore',
    detached: true,
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.ok) return Number(process.hrtime.bigint() - start) / 1e6;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    // npm start runs a process group (npm → node, the script execs it): stop all of it.
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((r) => child.once('exit', r));
    // npm can exit before the service it started has finished shutting down: wait for
    // the port to close, or the next run would be timed against the old process.
    for (let i = 0; i < 1000; i++) {
      const open = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => true,
        () => false,
      );
      if (!open) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const port = 18000 + Math.floor(Math.random() * 1000);
const base = {
  NODE_ENV: 'production',
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'error',
  DATABASE_URL: '',
};

const node: number[] = [];
const cold: number[] = [];
const warm: number[] = [];
// Where warm start time goes: the same start without npm in front (`node --import tsx`).
const warmNoNpm: number[] = [];
for (let i = 0; i < RUNS; i++) {
  node.push(
    await timeToHealthy(
      process.execPath,
      ['-e', `require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1')`],
      {},
      port,
    ),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sk-start-'));
  const env = { ...base, DATA_DIR: path.join(dir, 'data') };
  cold.push(await timeToHealthy('npm', ['start', '--silent'], env, port));
  warm.push(await timeToHealthy('npm', ['start', '--silent'], env, port));
  warmNoNpm.push(
    await timeToHealthy(process.execPath, ['--import', 'tsx', 'src/main.ts'], env, port),
  );
  await rm(dir, { recursive: true, force: true });
}
const fmt = (xs: number[]) =>
  `${(median(xs) / 1000).toFixed(2)} s (runs: ${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})`;
console.log(`bare node http server: ${fmt(node)}`);
console.log(
  `cold npm start:        ${fmt(cold)}  ratio to bare node ${(median(cold) / median(node)).toFixed(1)}x`,
);
console.log(
  `warm npm start:        ${fmt(warm)}  ratio to bare node ${(median(warm) / median(node)).toFixed(1)}x`,
);
console.log(
  `warm, without npm:     ${fmt(warmNoNpm)}  (node --import tsx src/main.ts; the rest is npm)`,
);
