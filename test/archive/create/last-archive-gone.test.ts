/**
 * The archive bri-archive.json names as the last one was deleted, or its file cannot be read (damaged beyond
 * PAR2's repair, or replaced by something that is not a file): the next create archived the WAL's lines again
 * from the start and printed "previous (first of its chain)", saying nothing of the archive it did not find. It
 * now says which archive is missing and why (unreadable, with its file, or in no source), in its warnings.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-last-gone-');

async function oneArchive(): Promise<{ dataDir: string; id: string; file: string }> {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  for (let i = 0; i < 5; i++) await db.set(`K${i}`, { i });
  const made = await db.archive.create({ level: 1 });
  await db.set('AFTER', { x: 1 });
  await db.close();
  return { dataDir, id: made.archiveId, file: made.file };
}

describe('the last archive missing when the next one is made', () => {
  it('deleted: the next create says it is in no source and holds its lines again', async () => {
    const { dataDir, id, file } = await oneArchive();
    await fsp.rm(file);
    const r = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { warnings: string[]; manifest: { timeRange: { walLines: { start: number; end: number } } } };
    expect(doc.manifest.timeRange.walLines).toEqual({ start: 0, end: 6 });
    expect(doc.warnings).toEqual([`archive ${id}, the last one this directory made (through line 5), is in no source (deleted); this archive holds lines 1..6 again`]);
  }, 60_000);

  it('its file not a regular file (a FIFO): named as unreadable, in the text too', async () => {
    const { dataDir, id, file } = await oneArchive();
    await fsp.rename(file, `${file}.real`);
    execFileSync('mkfifo', [file]);
    const r = await runCli(['archive', 'create', '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`WARNING: archive ${id}, the last one this directory made (through line 5), cannot be read: its file ${file} is damaged beyond repair, or not a regular file`);
  }, 60_000);
});
