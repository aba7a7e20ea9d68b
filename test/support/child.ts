/** Running TypeScript children (through tsx) and killing them at chosen moments. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../..');

const CLI_SOURCE = 'src/cli/main.ts';
const CLI_BUILT = 'dist/src/cli/main.js';

/**
 * Node's arguments that run `script`. The CLI's entry point under BRI_TEST_CLI=dist (CI, right after `npm run
 * build`) is the built one users run, without tsx's loader (about 0.6 s of CPU per command, thousands of
 * commands per run); anything else, and the CLI on a developer's machine, goes through tsx from the sources.
 */
export function tsNodeArgs(script: string = CLI_SOURCE): string[] {
  if (script === CLI_SOURCE && process.env.BRI_TEST_CLI === 'dist') {
    if (!fs.existsSync(path.join(REPO_ROOT, CLI_BUILT))) throw new Error(`BRI_TEST_CLI=dist but ${CLI_BUILT} is missing: run npm run build first`);
    return [CLI_BUILT];
  }
  return ['--import', 'tsx', script];
}

/** Starts `node --import tsx <script> ...args` (the CLI: see tsNodeArgs) with stdout piped. */
export function spawnTs(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [...tsNodeArgs(script), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects stdout lines as they come. */
export function collectLines(child: ChildProcess, onLine: (line: string) => void): void {
  let carry = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    carry += chunk;
    let nl: number;
    while ((nl = carry.indexOf('\n')) >= 0) {
      onLine(carry.slice(0, nl));
      carry = carry.slice(nl + 1);
    }
  });
}

export function waitExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** A seeded PRNG so that a failing run can be replayed (seed printed by the test). */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
