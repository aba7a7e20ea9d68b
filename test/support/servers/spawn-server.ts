/**
 * Starting loopback servers for the remote tests as child processes (so that
 * their memory is not ours, and a test can kill them mid-request), each on a
 * free port of 127.0.0.1, stopped by the test file's afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../../..');

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningServer {
  child: ChildProcess;
  port: number;
  /** Output so far (stdout + stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash); resolves when the process is gone. */
  kill(): Promise<void>;
}

export interface SpawnServerOptions {
  command: string;
  args: string[];
  port: number;
  env?: NodeJS.ProcessEnv;
  /** Resolves once this matches the output, or once the port accepts connections when absent. */
  ready?: RegExp;
  timeoutMs?: number;
  cwd?: string;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function spawnServer(opts: SpawnServerOptions): Promise<RunningServer> {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (b: Buffer): void => {
    if (out.length < 64 * 1024) out += b.toString('utf8');
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const onExit = (code: number | null): void => finish(new Error(`${path.basename(opts.command)} exited (${code}) before it was ready:\n${out}`));
    child.on('exit', onExit);
    const poll = setInterval(() => {
      if (Date.now() - started > timeoutMs) {
        child.kill('SIGKILL');
        finish(new Error(`${path.basename(opts.command)} was not ready after ${timeoutMs} ms:\n${out}`));
        return;
      }
      if (opts.ready !== undefined) {
        if (opts.ready.test(out)) finish();
      } else {
        void portOpen(opts.port).then((open) => open && finish());
      }
    }, 50);
  });
  return {
    child,
    port: opts.port,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(t);
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

/** Runs one of our TypeScript server scripts under node + tsx. */
export function tsServerArgs(script: string, args: string[], nodeFlags: string[] = []): { command: string; args: string[] } {
  return { command: process.execPath, args: [...nodeFlags, '--import', 'tsx', path.join(here, script), ...args] };
}
