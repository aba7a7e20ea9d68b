/**
 * Runs a piece of TypeScript in a child process (through tsx, from the repository), killed after
 * `timeoutMs`: for what could hang the whole process (a sync open of a FIFO freezes even timers),
 * so that a hang fails one test (signal SIGKILL) instead of freezing the test run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnTs, waitExit } from './child.js';

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export async function runScript(source: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bri-script-'));
  const file = path.join(dir, 'script.mts');
  fs.writeFileSync(file, source);
  try {
    return await collect(spawnTs(file, [], env), timeoutMs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The CLI (as runCli runs it) with `args`, killed after `timeoutMs`. */
export async function runCliWithin(args: string[], timeoutMs: number): Promise<ScriptResult> {
  const child = spawnTs('src/cli/main.ts', args, { BRI_ENCRYPTION_KEY: '' });
  return collect(child, timeoutMs);
}

/** What `child` printed and how it ended; SIGKILL when it was still running after `timeoutMs`. */
async function collect(child: ChildProcess, timeoutMs: number): Promise<ScriptResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await waitExit(child);
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}
