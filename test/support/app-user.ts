/**
 * The application's own user (nobody) beside a test run as root: its files, and it opening its database
 * or running the CLI in a child process (setpriv), to see what a root command left it able to do.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CliResult } from './cli.js';
import { REPO_ROOT, tsNodeArgs } from './child.js';

export const APP_UID = 65534;
export const APP_GID = 65534;
export const isRoot = process.geteuid?.() === 0;
/** Said in the name of a test skipped when not root, so the skip shows why. */
export const NEEDS_ROOT = isRoot ? '' : ' (skipped: needs root, to give files to nobody and run as nobody)';

/** Gives `p` and everything under it to `uid`:`gid`. */
export function chownTree(p: string, uid = APP_UID, gid = APP_GID): void {
  fs.lchownSync(p, uid, gid);
  if (fs.lstatSync(p).isDirectory()) for (const name of fs.readdirSync(p)) chownTree(path.join(p, name), uid, gid);
}

/** uid, gid and permission bits of `p`. */
export function ownerOf(p: string): { uid: number; gid: number; mode: number } {
  const st = fs.statSync(p);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

/** Every file and directory under `dir` (itself too) whose owner is not `uid`:`gid`. */
export function notOwnedBy(dir: string, uid = APP_UID, gid = APP_GID): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.uid !== uid || st.gid !== gid) out.push(`${path.relative(dir, p) || '.'} ${st.uid}:${st.gid}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  return out;
}

const AS_APP = ['setpriv', `--reuid=${APP_UID}`, `--regid=${APP_GID}`, '--clear-groups'];

/** `node <args>` (through tsx: see tsNodeArgs) as the application's user (`asApp`), or as this process's user under `umask`. */
function runNode(args: string[], opts: { asApp?: boolean; umask?: string }): Promise<CliResult> {
  const node = [process.execPath, ...tsNodeArgs(args[0]), ...args.slice(1)];
  return run(opts.asApp ? [...AS_APP, ...node] : opts.umask ? ['sh', '-c', `umask ${opts.umask} && exec "$@"`, 'sh', ...node] : node);
}

/** Any command (`argv`) run as the application's user: its exit code and output. */
export const runAsApp = (argv: string[]): Promise<CliResult> => run([...AS_APP, ...argv]);

function run(argv: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `bri` CLI run by the application's user. */
export const appCli = (args: string[]): Promise<CliResult> => runNode(['src/cli/main.ts', ...args], { asApp: true });

/** The `bri` CLI run by root (this process's user) under `umask` (an operator's shell, a cron job's). */
export const rootCli = (args: string[], umask = '022'): Promise<CliResult> => runNode(['src/cli/main.ts', ...args], { umask });

/**
 * The application opens its database, writes `writes` documents and closes it (`crash`: killed after
 * writing, the last WAL segment left holding lines). stdout says `ok`, or the error's code and message.
 */
export const appWrites = (dataDir: string, writes = 1, crash = false): Promise<CliResult> =>
  runNode([path.join(REPO_ROOT, 'test/support/app-writes.ts'), dataDir, String(writes), crash ? 'crash' : 'close'], { asApp: true });

/** Makes `dir` (a test's temp directory, private to root) reachable by the application's user. */
export function openToApp(dir: string): void {
  fs.chmodSync(dir, 0o755);
}
