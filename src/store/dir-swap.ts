/**
 * Swapping a restored directory in: a journal beside the target records the
 * two renames, so that a crash between them is finished (or rolled back) by
 * the next run. The target ends up either the old directory or the new one.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir, pathExists, writeFileDurable } from '../store/durable-fs.js';

export interface SwapJournal {
  target: string;
  /** The new directory, built beside the target. */
  newDir: string;
  /** Where the old target goes (null when there was none). */
  oldDir: string | null;
  /** 'building': newDir is not complete; 'swapping': newDir is complete and validated. */
  phase: 'building' | 'swapping';
  /** Remove the old directory once the swap is done. */
  cleanExisting: boolean;
  /** Paths relative to the target that move from the old directory to the new one (its archives). */
  carryOver: string[];
}

export function journalPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.restore.json`);
}

export function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('.', '');
}

export async function writeJournal(j: SwapJournal): Promise<void> {
  await writeFileDurable(journalPath(j.target), JSON.stringify(j, null, 2));
}

export async function removeJournal(target: string): Promise<void> {
  await fsp.rm(journalPath(target), { force: true });
  await fsyncDir(path.dirname(target));
}

/** Finishes or rolls back a restore that a crash interrupted. Returns what it did, or null. */
export async function recoverInterruptedRestore(target: string): Promise<string | null> {
  const file = journalPath(target);
  if (!fs.existsSync(file)) return null;
  let j: SwapJournal;
  try {
    j = JSON.parse(await fsp.readFile(file, 'utf8')) as SwapJournal;
  } catch {
    await removeJournal(target);
    return 'removed an unreadable restore journal';
  }
  let did: string;
  if (j.phase === 'building') {
    await fsp.rm(j.newDir, { recursive: true, force: true });
    did = `rolled back an unfinished restore (removed ${j.newDir})`;
  } else if (await pathExists(j.newDir)) {
    if (await pathExists(target)) {
      // The first rename had not happened: do it now (newDir is complete and validated).
      if (j.oldDir && !(await pathExists(j.oldDir))) await fsp.rename(target, j.oldDir);
    }
    if (!(await pathExists(target))) {
      await fsp.rename(j.newDir, target);
      did = `finished an interrupted restore into ${target}`;
    } else {
      await fsp.rm(j.newDir, { recursive: true, force: true });
      did = `rolled back an interrupted restore (kept ${target})`;
    }
    await fsyncDir(path.dirname(target));
  } else {
    did = 'the interrupted restore had completed';
  }
  if (j.phase === 'swapping' && (await pathExists(target))) await carryOver(j);
  if (j.phase === 'swapping' && j.cleanExisting && j.oldDir) await fsp.rm(j.oldDir, { recursive: true, force: true });
  await removeJournal(target);
  return did;
}

/** Moves the carried-over paths from the old directory (moved aside) into the target, if still there. */
async function carryOver(j: SwapJournal): Promise<void> {
  if (!j.oldDir) return;
  for (const rel of j.carryOver) {
    const from = path.join(j.oldDir, rel);
    const to = path.join(j.target, rel);
    if (!(await pathExists(from)) || (await pathExists(to))) continue;
    await fsp.mkdir(path.dirname(to), { recursive: true });
    await fsp.rename(from, to);
    await fsyncDir(path.dirname(to));
    await fsyncDir(path.dirname(from));
  }
}

/** Moves the old target aside (if any), the new directory into its place, and the carried-over paths back in. */
export async function swapIn(j: SwapJournal): Promise<void> {
  await writeJournal({ ...j, phase: 'swapping' });
  if (j.oldDir) await fsp.rename(j.target, j.oldDir);
  await fsp.rename(j.newDir, j.target);
  await fsyncDir(path.dirname(j.target));
  await carryOver(j);
  if (j.cleanExisting && j.oldDir) await fsp.rm(j.oldDir, { recursive: true, force: true });
  await removeJournal(j.target);
}
