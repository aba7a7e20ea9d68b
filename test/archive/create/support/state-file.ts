/** A data directory whose bri-archive.json is edited after a first archive, for the tests of a state file that disagrees. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'vitest';
import { createDB } from '../../../../src/db.js';
import { runCli } from '../../../support/cli.js';
import { copyFixture } from '../../../support/fixtures.js';

/** The small fixture archived through line 760, then lines 761..770 written: the tip's line is still in wal/. */
export async function archivedThenWritten(config?: string): Promise<string> {
  const dataDir = await copyFixture('small');
  const first = await runCli(['archive', 'create', '-d', dataDir, '-q', ...(config ? ['-c', config] : [])]);
  expect(first.code, first.stderr).toBe(0);
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 5; i++) {
    await db.set(`LATE_${i}`, { i });
    await db.sAdd('LATE', `LATE_${i}`);
  }
  await db.close();
  return dataDir;
}

export type StateFile = { removedLines: number; last: { archiveId: string; endLine: number } };

export async function editState(dataDir: string, edit: (s: StateFile) => void): Promise<StateFile> {
  const file = path.join(dataDir, 'bri-archive.json');
  const s = JSON.parse(await fsp.readFile(file, 'utf8')) as StateFile;
  edit(s);
  await fsp.writeFile(file, JSON.stringify(s, null, 2));
  return s;
}
