/**
 * `bri data verify|stats|dump` on a data directory whose restore in place was killed in its swap
 * (the journal .<dir>.restore.json beside it): they finish the restore first, as the store's open and
 * the archive and restore commands do, and answer about the directory that open will find.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { openRestore } from '../../src/archive/restore-api.js';
import { journalPath, writeJournal, type SwapJournal } from '../../src/store/dir-swap.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-data-interrupted-restore-');

/** A database at `target` with A_0..A_9 archived and B_0..B_4 written after, and its latest archive restored into `staging`. */
async function targetAndRestored(): Promise<{ target: string; staging: string; archiveDir: string }> {
  const root = await tmp();
  const target = path.join(root, 'data');
  const archiveDir = path.join(root, 'archives');
  const db = await createDB({ storeConfig: { dataDir: target, archive: { localDir: archiveDir } } });
  for (let i = 0; i < 10; i++) await db.set(`A_${i}`, { i });
  await db.archive.create();
  for (let i = 0; i < 5; i++) await db.set(`B_${i}`, { i });
  await db.close();
  const staging = path.join(root, 'staging');
  await openRestore({ dataDir: target, archiveDir }).fromLatest({ targetDir: staging });
  return { target, staging, archiveDir };
}

/** What a restore killed in its swap leaves: the journal, and the renames made up to `at`. */
async function killedInSwap(target: string, staging: string, at: 'before the first rename' | 'between the renames'): Promise<void> {
  const when = '20260101T000000000Z';
  const j: SwapJournal = { target, newDir: `${target}.restore-${when}`, oldDir: `${target}.pre-restore-${when}`, phase: 'swapping', cleanExisting: false, carryOver: [] };
  await writeJournal(j);
  await fsp.rename(staging, j.newDir);
  if (at === 'between the renames') await fsp.rename(target, j.oldDir!);
}

describe('bri data commands after a restore in place killed in its swap', () => {
  for (const at of ['between the renames', 'before the first rename'] as const) {
    it(`killed ${at}: data verify, data stats and data dump finish the restore and answer about the restored directory`, async () => {
      for (const command of ['verify', 'stats', 'dump'] as const) {
        const { target, staging } = await targetAndRestored();
        await killedInSwap(target, staging, at);
        const r = await runCli(['data', command, '-d', target, ...(command === 'stats' ? ['--json'] : [])]);
        expect(r.code, `${command}: ${r.stderr}`).toBe(0);
        expect(fs.existsSync(journalPath(target)), command).toBe(false);
        if (command === 'dump') {
          const keys = Object.keys((JSON.parse(r.stdout) as { documents: Record<string, unknown> }).documents).sort();
          expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => `A_${i}`).sort());
        }
        if (command === 'stats') expect((JSON.parse(r.stdout) as { totalLines: number }).totalLines).toBe(10);
        if (command === 'verify') expect(r.stdout).toMatch(/^OK .*10 lines/);
      }
    });
  }
});
