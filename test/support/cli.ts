/** Runs the `bri` CLI in a child process, as a user would. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT, tsNodeArgs } from './child.js';

const TS_PRELOAD = path.join(REPO_ROOT, 'test/support/ts-preload.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `nodeArgs` go before everything (e.g. --unhandled-rejections=strict), `preload` is imported after tsx, `script` replaces the CLI's entry point. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, opts: { nodeArgs?: string[]; script?: string; preload?: string } = {}): Promise<CliResult & { signal?: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    // A preload patches node's modules (io-faults.ts, nth-call-fault.ts): with the built CLI, it alone goes through tsx.
    const cli = tsNodeArgs(opts.script);
    const built = opts.preload !== undefined && !cli.includes('tsx');
    const entry = !opts.preload ? cli : built ? ['--import', TS_PRELOAD, ...cli] : ['--import', 'tsx', '--import', opts.preload, ...cli.slice(2)];
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...entry, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, BRI_ENCRYPTION_KEY: '', ...(built ? { BRI_TS_PRELOAD: opts.preload } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** stderr without the warning a restore beside its original prints (the copy is a new instance): what else it said. */
export function besideOriginalUnsaid(stderr: string): string {
  return stderr.replace(/^WARNING .* starts a new instance, .*\n/m, '');
}
