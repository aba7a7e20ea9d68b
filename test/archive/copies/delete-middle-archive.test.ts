/**
 * Deleting a middle archive whose lines are still in wal/ (RETAIN 2): it went, exit 0, not a word; its lines were
 * then in no archive, no create could archive them again, and WAL cleanup stopped before them for good.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-delete-middle-');

async function threeArchives(): Promise<{ dataDir: string; ids: string[] }> {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  const ids: string[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      await db.set(`K${round}`, { round });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  return { dataDir, ids };
}

describe('archive delete of lines still in wal/', () => {
  it('deleting the last copy of a middle archive (a later one starts after its lines) warns that they are in no archive, create cannot refill them, and where WAL cleanup stops', async () => {
    const { dataDir, ids } = await threeArchives();
    const r = await runCli(['archive', 'delete', ids[1]!, '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: lines 2..2 of archive ${ids[1]} are now in no archive (archive ${ids[2]} starts after them)`);
    expect(r.stderr).toContain('`bri archive create` cannot archive them again, and WAL cleanup stops at line 1');
    expect(fs.existsSync(path.join(dataDir, 'archives', `${ids[1]}.bri`))).toBe(false);
    // Said with --force too, and to a program in the JSON.
    const forced = await runCli(['archive', 'delete', ids[0]!, '-d', dataDir, '--force', '--json']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).warnings).toEqual([expect.stringContaining('lines 1..1 of archive')]);
  }, 60_000);

  it('deleting the newest archive says nothing: the next archive holds its lines again', async () => {
    const { dataDir, ids } = await threeArchives();
    const r = await runCli(['archive', 'delete', ids[2]!, '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
  }, 60_000);
});
