/**
 * Archive creation killed with SIGKILL at random moments (seeded: CRASH_SEED),
 * over one data directory that keeps growing between runs. After each kill:
 * no half archive under a `.bri` name (every new `.bri` verifies), the data
 * directory reopens to exactly the state it had before the attempt, and the
 * next archive succeeds; at the end the archives chain with no gap or overlap
 * and the last one replays to the database's state.
 *
 * Half the runs are killed at a random time in the creation window, the other
 * half a few ms after a chosen phase begins (prepare, wal, snapshot, package,
 * recovery, done), so that every phase gets kills however fast the machine is.
 * Children alternate between an open database (createDB) and the offline API.
 */
import { type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replayArchive } from '../../src/archive/package/replay.js';
import { verifyArchive } from '../../src/archive/package/verify.js';
import { createDB, type BriDB } from '../../src/db.js';
import { isBriError } from '../../src/errors.js';
import { toPlainState } from '../../src/format/state.js';
import { collectLines, prng, spawnTs, waitExit } from '../support/child.js';
import { copyFixture, fixturesPresent, normalizeState } from '../support/fixtures.js';
import { writeWorkload } from '../support/hostile-tar.js';

/** Runs at least this many; more (up to MAX_RUNS) while fewer than MIN_KILLS of them were killed (a child can finish before its kill lands). */
const RUNS = 22;
const MIN_KILLS = 18;
const MAX_RUNS = 40;
const LEVEL = 19;
/** Operations written between runs (so that each run has something to archive). */
const OPS_PER_RUN = 200;
/** Keeps documents small so that the state (compressed whole at level 19 as each archive's snapshot) stays modest. */
const PADDING = 60;
/** The phases create() reports, in order ('done' comes after the rename and the state update). */
const PHASES = ['prepare', 'wal', 'snapshot', 'package', 'recovery', 'done'];

const made: string[] = [];
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

/** CRASH_TRACE=<file>: one line per run appended there as the test goes (to look at slow or stuck runs). */
const trace = (line: string) => {
  if (process.env.CRASH_TRACE) fs.appendFileSync(process.env.CRASH_TRACE, `${new Date().toISOString()} ${line}\n`);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type State = ReturnType<typeof normalizeState>;
const stateOf = (db: BriDB): State => normalizeState(toPlainState(db.state));
const open = (dataDir: string) => createDB({ storeConfig: { dataDir, walSegmentSize: 16 * 1024, fsyncMode: 'batched', batchIntervalMs: 2 } });

async function bris(archiveDir: string): Promise<string[]> {
  return (await fsp.readdir(archiveDir).catch(() => [] as string[])).filter((n) => n.endsWith('.bri')).sort();
}

/** A child started ahead of time: modules loaded, waiting for SIGUSR1 before it touches the directory. */
interface Archiver {
  child: ChildProcess;
  mode: 'db' | 'offline';
  loaded: Promise<void>;
  stderr: () => string;
  /** Lines after "loaded". */
  onLine: (fn: (line: string) => void) => void;
}

function startArchiver(dataDir: string, mode: 'db' | 'offline'): Archiver {
  const child = spawnTs('test/fault/children/archiver.ts', [dataDir, mode, String(LEVEL)]);
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let loadedResolve!: () => void;
  const loaded = new Promise<void>((r) => (loadedResolve = r));
  let listener: ((line: string) => void) | null = null;
  collectLines(child, (line) => {
    if (line === 'loaded') loadedResolve();
    else listener?.(line);
  });
  return { child, mode, loaded, stderr: () => stderr, onLine: (fn) => (listener = fn) };
}

describe.skipIf(!fixturesPresent())('archive creation killed with SIGKILL at random moments', () => {
  it(`never leaves a half archive, never changes the data, and the chain has no gap (at least ${RUNS} runs and ${MIN_KILLS} kills)`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const at = (run: number) => `(run ${run}, seed ${seed}; replay with CRASH_SEED=${seed})`;
    const t0 = Date.now();

    // A fixture copy plus generated writes, and a first archive made here (the chain's start).
    const dataDir = await copyFixture('small');
    made.push(path.dirname(dataDir));
    const archiveDir = path.join(dataDir, 'archives');
    let next = 0;
    let db = await open(dataDir);
    await writeWorkload(db, next, 1000, { prefix: 'C', padding: PADDING });
    next += 1000;
    await db.archive.create({ level: 3 });
    await writeWorkload(db, next, OPS_PER_RUN, { prefix: 'C', padding: PADDING });
    next += OPS_PER_RUN;
    let expected: State = stateOf(db);
    await db.close();

    let kills = 0;
    let completed = 0;
    let parentCreates = 0;
    /** How long a child takes from "ready" to "done": the window the clock kills are spread over. */
    let window = 2000;
    const killedIn = new Map<string, number>();
    const afterKill = { completeArchive: 0, noArchive: 0 };
    const spent = { waitingForChild: 0, archiving: 0, parentChecks: 0 };

    let archiver = startArchiver(dataDir, 'db');
    const more = (run: number) => run < RUNS || (kills < MIN_KILLS && run < MAX_RUNS);
    let runs = 0;
    for (let run = 0; more(run); run++) {
      runs++;
      const tWait = Date.now();
      const current = archiver;
      const { child, mode } = current;
      await Promise.race([current.loaded, waitExit(child)]);
      expect(child.exitCode, `child failed to load ${at(run)}: ${current.stderr()}`).toBeNull();
      spent.waitingForChild += Date.now() - tWait;

      const before = await bris(archiveDir);
      const tStart = Date.now();
      let readyAt = Date.now();
      let phase = 'open';
      let doneId: string | null = null;
      // Half the runs: killed at a random time in the window; the others: a few ms after a chosen phase begins.
      const targetPhase = random() < 0.5 ? null : PHASES[Math.floor(random() * PHASES.length)]!;
      const clockDelay = random() * window * 1.05;
      const afterPhaseMs = random() * 40;
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      let reachedTarget!: () => void;
      const atTarget = new Promise<void>((r) => (reachedTarget = r));
      current.onLine((line) => {
        if (line === 'ready') {
          readyAt = Date.now();
          phase = 'ready';
          ready();
        } else if (line.startsWith('phase ')) {
          phase = line.slice(6);
          if (phase === targetPhase) reachedTarget();
        } else if (line.startsWith('done ')) doneId = line.slice(5);
      });
      child.kill('SIGUSR1');
      const moment = targetPhase === null ? isReady.then(() => sleep(clockDelay)) : atTarget.then(() => sleep(afterPhaseMs));
      const exited = await Promise.race([waitExit(child).then(() => true), moment.then(() => false)]);
      if (!exited) child.kill('SIGKILL');
      const exit = await waitExit(child);
      spent.archiving += Date.now() - tStart;
      const tParent = Date.now();

      if (exit.signal === 'SIGKILL') {
        kills++;
        killedIn.set(phase, (killedIn.get(phase) ?? 0) + 1);
        // Killed early by the clock: the window is probably longer than thought.
        if (targetPhase === null && ['open', 'ready', 'prepare', 'wal'].includes(phase)) window = Math.round(window * 1.1);
      } else {
        expect(exit.code, `child exit ${at(run)}: ${current.stderr()}`).toBe(0);
        expect(doneId, `a child that exited normally printed done ${at(run)}`).not.toBeNull();
        completed++;
        window = Math.round(0.5 * window + 0.5 * (Date.now() - readyAt));
      }
      // The next child loads its modules while this run is checked (it waits for its signal).
      if (more(run + 1)) archiver = startArchiver(dataDir, (run + 1) % 2 === 0 ? 'db' : 'offline');

      // No half archive under a .bri name: at most one new file, complete, and it verifies.
      const after = await bris(archiveDir);
      const added = after.filter((n) => !before.includes(n));
      expect(before.filter((n) => !after.includes(n)), `no archive disappeared ${at(run)}`).toEqual([]);
      expect(added.length, `new archives after run ${at(run)}: ${added.join(', ')}`).toBeLessThanOrEqual(1);
      if (doneId !== null) expect(added, `the archive the child announced ${at(run)}`).toEqual([`${doneId}.bri`]);
      if (exit.signal === 'SIGKILL') afterKill[added.length === 1 ? 'completeArchive' : 'noArchive']++;
      for (const name of added) {
        const report = await verifyArchive(path.join(archiveDir, name));
        expect(report.ok, `${name} left by run ${at(run)} (phase ${phase}): ${report.problems.join('; ')}`).toBe(true);
      }
      for (const name of await fsp.readdir(archiveDir)) {
        expect(name.endsWith('.bri') || name === '.tmp' || name === '.seeds' || name === 'bri-archive-dir.json', `unexpected file ${name} in the archive dir ${at(run)}`).toBe(true);
      }

      // The data directory reopens to the state it had before the attempt.
      db = await open(dataDir);
      try {
        expect(stateOf(db), `state after run ${at(run)} (${mode}, killed in phase ${phase})`).toEqual(expected);
        // Every other run, the next archive is made here; otherwise by the next child.
        if (run % 2 === 1 || !more(run + 1)) {
          try {
            const created = await db.archive.create({ level: 3 });
            parentCreates++;
            const report = await db.archive.verify(created.archiveId);
            expect(report.ok, `archive made after run ${at(run)}: ${report.problems.join('; ')}`).toBe(true);
            const stale = await fsp.readdir(path.join(archiveDir, '.tmp')).catch(() => [] as string[]);
            expect(stale, `staging left behind after a successful create ${at(run)}`).toEqual([]);
          } catch (err) {
            // Only legitimate when the killed child's archive was complete (it already holds every line).
            expect(isBriError(err, 'NOTHING_TO_ARCHIVE') && added.length === 1, `create after run ${at(run)}: ${String(err)}`).toBe(true);
          }
        }
        await writeWorkload(db, next, OPS_PER_RUN, { prefix: 'C', padding: PADDING });
        next += OPS_PER_RUN;
        expected = stateOf(db);
      } finally {
        await db.close();
      }
      spent.parentChecks += Date.now() - tParent;
      trace(`run ${run} ${mode} target=${targetPhase ?? `clock ${Math.round(clockDelay)}ms`} phase=${phase} exit=${exit.signal ?? exit.code} added=${added.length} ${JSON.stringify(spent)}`);
    }

    // The last writes get their archive too; then the whole chain is checked.
    db = await open(dataDir);
    try {
      expect(stateOf(db)).toEqual(expected);
      await db.archive.create({ level: 3 });
      const list = await db.archive.list();
      const stats = await db.archive.stats();
      expect(stats.gaps, `gaps (seed ${seed})`).toEqual([]);
      expect(list[0]!.manifest.timeRange.walLines.start).toBe(0);
      expect(list[list.length - 1]!.manifest.timeRange.walLines.end).toBe(db.info().totalLines);
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1]!.manifest;
        const cur = list[i]!.manifest;
        const where = `${prev.archiveId} -> ${cur.archiveId} (seed ${seed})`;
        expect(cur.timeRange.walLines.start, where).toBe(prev.timeRange.walLines.end);
        expect(cur.chain.prevPointer, where).toBe(prev.chain.lastPointer);
        expect(cur.previousArchiveId, where).toBe(prev.archiveId);
      }
      for (const a of list) {
        const report = await db.archive.verify(a.manifest.archiveId);
        expect(report.ok, `${a.manifest.archiveId} with its neighbours (seed ${seed}): ${report.problems.join('; ')}`).toBe(true);
        if (list.length > 1) expect(report.checked.neighbours).toBeGreaterThanOrEqual(1);
      }
      const last = await replayArchive(list[list.length - 1]!.file!);
      expect(normalizeState(toPlainState(last.state)), `the last archive replays to the database's state (seed ${seed})`).toEqual(stateOf(db));
      console.log(
        `archive crash: seed ${seed}, ${runs} runs, ${kills} SIGKILLs (by phase ${JSON.stringify(Object.fromEntries(killedIn))}; ` +
          `${afterKill.completeArchive} left a complete archive, ${afterKill.noArchive} none), ${completed} completed, ` +
          `${parentCreates} archives made by the parent, ${list.length} archives chained, window ${window} ms, ` +
          `${((Date.now() - t0) / 1000).toFixed(1)} s (ms ${JSON.stringify(spent)})`,
      );
    } finally {
      await db.close();
    }
    expect(kills, `kills (seed ${seed})`).toBeGreaterThanOrEqual(MIN_KILLS);
  }, 300_000);
});
