// Real processes for end-to-end tests: the service as `npm start` runs it (src/main.ts
// through tsx) and the CLI as `npx seatkeeper` runs it (bin/seatkeeper.js).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The child's environment: this one's, minus the test runner's own settings. */
export function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', JEST_WORKER_ID: undefined };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Send a signal and wait for the exit: resolves to [code, ms taken]. */
  stop(signal?: NodeJS.Signals): Promise<[number | null, number]>;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function startServiceProcess(
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: childEnv({ NODE_ENV: 'test', PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start in time:\n${err}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(err);
      if (m && err.includes('seatkeeper listening')) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${err}`));
    });
  });
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      const start = Date.now();
      child.kill(signal);
      const code = await exitOf(child);
      return [code, Date.now() - start];
    },
  };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: childEnv({ NODE_ENV: 'test', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export const cli = (args: string[], env: Record<string, string | undefined>) =>
  run(process.execPath, [path.join(ROOT, 'bin/seatkeeper.js'), ...args], env);

export function tokensFromBanner(stdout: string): { scim: string; api: string } | null {
  const scim = /SCIM token\s+(sk_scim_\S+)/.exec(stdout)?.[1];
  const api = /API token\s+(sk_api_\S+)/.exec(stdout)?.[1];
  return scim && api ? { scim, api } : null;
}
