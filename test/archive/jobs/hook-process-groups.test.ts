/**
 * A hook command runs in its own process group, which a terminal's Ctrl-C or
 * a `kill` of the CLI does not reach: stopping the process while a hook runs
 * must stop the hook too, with real CLI children, real /bin/sh hooks and real
 * signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommandHook } from '../../../src/archive/jobs/command-hook.js';
import { createDB } from '../../../src/db.js';
import { REPO_ROOT, waitExit, tsNodeArgs } from '../../support/child.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-hook-groups-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOOK_SLEEP_S = 2;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** A hook that writes its group id (sh's pid: it leads its group) to `started`, sleeps, then writes `ran`. */
const slowHook = (dir: string) => `echo $$ > "${path.join(dir, 'started')}"; sleep ${HOOK_SLEEP_S}; date > "${path.join(dir, 'ran')}"`;

/** The hook's group id once it has started. */
async function hookStarted(dir: string, child: ChildProcess): Promise<number> {
  const file = path.join(dir, 'started');
  for (let i = 0; i < 600; i++) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
    if (text) return Number(text);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited (${child.exitCode ?? child.signalCode}) before the hook started`);
    await sleep(25);
  }
  throw new Error('the hook never started');
}

/** Processes of group `pgid` still running (zombies, which only wait to be reaped, do not count). */
function liveMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(name));
  }
  return pids;
}

/** Waits for the group to be gone, then past the hook's sleep, and says whether the hook got to its end. */
async function hookOutcome(dir: string, pgid: number): Promise<{ live: number[]; ran: boolean }> {
  const since = Date.now();
  let live = liveMembers(pgid);
  while (live.length && Date.now() - since < 2000) {
    await sleep(25);
    live = liveMembers(pgid);
  }
  await sleep(HOOK_SLEEP_S * 1000 + 500);
  return { live, ran: fs.existsSync(path.join(dir, 'ran')) };
}

/** `bri archive create` on a small data directory with `hooks` from a config file, leading its own process group as a shell's job does. */
async function startCreate(dir: string, hooks: Record<string, unknown>): Promise<ChildProcess> {
  const dataDir = path.join(dir, 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  for (let i = 0; i < 20; i++) await db.set(`k${i}`, { i });
  await db.close();
  const config = path.join(dir, 'cfg.json');
  fs.writeFileSync(config, JSON.stringify({ archive: { hooks } }));
  return spawn(process.execPath, [...tsNodeArgs(), 'archive', 'create', '-d', dataDir, '-c', config], {
    cwd: REPO_ROOT,
    env: { ...process.env, BRI_ENCRYPTION_KEY: '' },
    stdio: 'ignore',
    detached: true,
  });
}

/** Runs `code` (ESM, with runCommandHook and fs imported) in a child of its own, after `preload` if given. */
function startScript(code: string, preload?: string): ChildProcess {
  const script = `import { runCommandHook } from ${JSON.stringify(path.resolve('src/archive/jobs/command-hook.ts'))};
import * as fs from 'node:fs';
${code}`;
  return spawn(process.execPath, ['--import', 'tsx', ...(preload ? ['--import', preload] : []), '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

function stdoutOf(child: ChildProcess): () => string {
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  return () => out;
}

describe('hook commands when the process is stopped', () => {
  it('Ctrl-C on archive create (SIGINT to its process group) kills the running beforeArchive, and the CLI dies by SIGINT', async () => {
    const dir = await tempDir();
    const cli = await startCreate(dir, { beforeArchive: { command: slowHook(dir), timeoutMs: 60_000 } });
    const pgid = await hookStarted(dir, cli);
    process.kill(-cli.pid!, 'SIGINT');
    expect(await waitExit(cli)).toEqual({ code: null, signal: 'SIGINT' });
    expect(await hookOutcome(dir, pgid)).toEqual({ live: [], ran: false });
  }, 30_000);

  it('SIGTERM to the CLI alone kills the running afterArchive, and the CLI dies by SIGTERM', async () => {
    const dir = await tempDir();
    const cli = await startCreate(dir, { afterArchive: { command: slowHook(dir) } });
    const pgid = await hookStarted(dir, cli);
    cli.kill('SIGTERM');
    expect(await waitExit(cli)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await hookOutcome(dir, pgid)).toEqual({ live: [], ran: false });
  }, 30_000);

  it('SIGHUP kills the running hook, and the process dies by SIGHUP', async () => {
    const dir = await tempDir();
    const child = startScript(`await runCommandHook('beforeRestore', { command: ${JSON.stringify(slowHook(dir))} }, {});`);
    const pgid = await hookStarted(dir, child);
    child.kill('SIGHUP');
    expect(await waitExit(child)).toEqual({ code: null, signal: 'SIGHUP' });
    expect(await hookOutcome(dir, pgid)).toEqual({ live: [], ran: false });
  }, 30_000);

  it('a signal that comes while spawn() has not returned yet (the hook already runs) kills the hook too', async () => {
    const dir = await tempDir();
    // spawn() returns only 500 ms after the command started: the signal below comes in that gap.
    const preload = path.join(dir, 'slow-spawn.mjs');
    fs.writeFileSync(
      preload,
      `import { createRequire, syncBuiltinESMExports } from 'node:module';
const cp = createRequire(import.meta.url)('node:child_process');
const spawn = cp.spawn;
cp.spawn = (...args) => { const child = spawn(...args); const until = Date.now() + 500; while (Date.now() < until); return child; };
syncBuiltinESMExports();`,
    );
    const child = startScript(`await runCommandHook('beforeArchive', { command: ${JSON.stringify(slowHook(dir))} }, {});`, preload);
    const pgid = await hookStarted(dir, child);
    child.kill('SIGTERM');
    expect(await waitExit(child)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await hookOutcome(dir, pgid)).toEqual({ live: [], ran: false });
  }, 30_000);

  it('an application with its own SIGINT handler keeps running; its hook is killed and fails with HOOK_FAILED', async () => {
    const dir = await tempDir();
    const child = startScript(`let heard = 0;
process.on('SIGINT', () => heard++);
const err = await runCommandHook('afterRestore', { command: ${JSON.stringify(slowHook(dir))} }, {}).catch((e) => e);
console.log(JSON.stringify({ heard, code: err?.code, message: err?.message, listeners: process.listenerCount('SIGINT') }));`);
    const out = stdoutOf(child);
    const pgid = await hookStarted(dir, child);
    child.kill('SIGINT');
    expect(await waitExit(child)).toEqual({ code: 0, signal: null });
    const said = JSON.parse(out()) as { heard: number; code: string; message: string; listeners: number };
    expect(said).toMatchObject({ heard: 1, code: 'HOOK_FAILED', listeners: 1 });
    expect(said.message).toContain('was killed by SIGTERM');
    expect(await hookOutcome(dir, pgid)).toEqual({ live: [], ran: false });
  }, 30_000);

  it('process.exit() while a hook runs kills the hook', async () => {
    const dir = await tempDir();
    const started = path.join(dir, 'started');
    const child = startScript(`runCommandHook('onError', { command: ${JSON.stringify(slowHook(dir))} }, {}).catch(() => undefined);
while (!fs.existsSync(${JSON.stringify(started)}) || !fs.readFileSync(${JSON.stringify(started)}, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
process.exit(3);`);
    const pgid = await hookStarted(dir, child);
    expect(await waitExit(child)).toEqual({ code: 3, signal: null });
    expect(await hookOutcome(dir, pgid)).toEqual({ live: [], ran: false });
  }, 30_000);

  it('listens to signals and exit only while hooks run, once however many run, and leaves no listener behind', async () => {
    const counts = () => [...STOP_SIGNALS, 'exit' as const].map((s) => process.listenerCount(s));
    const before = counts();
    const dir = await tempDir();
    const gate = path.join(dir, 'gate');
    const held = [1, 2, 3].map(() => runCommandHook('afterArchive', { command: `while [ ! -e "${gate}" ]; do sleep 0.05; done` }, {}));
    expect(counts()).toEqual(before.map((n) => n + 1));
    fs.writeFileSync(gate, '');
    await Promise.all(held);
    expect(counts()).toEqual(before);
    for (let i = 0; i < 10; i++) {
      await runCommandHook('afterArchive', { command: 'true' }, {});
      await runCommandHook('afterArchive', { command: 'exit 3' }, {}).catch(() => undefined);
      await runCommandHook('afterArchive', { command: ['/no/such/binary'] }, {}).catch(() => undefined);
      await runCommandHook('afterArchive', { command: 'sleep 5', timeoutMs: 30 }, {}).catch(() => undefined);
    }
    expect(counts()).toEqual(before);
  }, 60_000);
});
