/** Runs the `bri` CLI in a child process, as a user would. */
import { spawn } from 'node:child_process';
import { REPO_ROOT, tsNodeArgs } from './child.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `nodeArgs` go before everything (e.g. --unhandled-rejections=strict), `preload` is imported after tsx, `script` replaces the CLI's entry point. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, opts: { nodeArgs?: string[]; script?: string; preload?: string } = {}): Promise<CliResult & { signal?: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    // A preload may patch the sources' modules: it runs with them, through tsx.
    const entry = opts.preload ? ['--import', 'tsx', '--import', opts.preload, opts.script ?? 'src/cli/main.ts'] : tsNodeArgs(opts.script);
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...entry, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, BRI_ENCRYPTION_KEY: '', ...env },
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
