/**
 * bri-archive.json's record of the last archive disagreeing with that archive's manifest was said only as a
 * process warning: absent from the create's result and its `--json` document, and printed on stderr under
 * `--json`, where only JSON belongs. It is now one of the archive's warnings, like every other.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-state-disagrees-');

/** A data directory with one archive whose state file then records another last pointer. */
async function setUp(): Promise<string> {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  for (let i = 0; i < 10; i++) await db.set(`K${i}`, { i });
  await db.archive.create({ level: 1 });
  await db.set('AFTER', { x: 1 });
  await db.close();
  const file = path.join(dataDir, 'bri-archive.json');
  const state = JSON.parse(await fsp.readFile(file, 'utf8')) as { last: { lastPointer: string } };
  const p = state.last.lastPointer;
  state.last.lastPointer = p.slice(0, -1) + (p.endsWith('0') ? '1' : '0');
  await fsp.writeFile(file, JSON.stringify(state));
  return dataDir;
}

describe("a state file disagreeing with the last archive's manifest", () => {
  it('is in the create result\'s warnings and the --json document; stderr stays empty under --json', async () => {
    const dataDir = await setUp();
    const r = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { warnings: string[] };
    expect(doc.warnings).toEqual([expect.stringMatching(/bri-archive\.json disagrees with the manifest of its last archive .*last\.lastPointer/)]);
  }, 60_000);

  it('is in the API result; the file is rewritten by that archive, so the next one says nothing', async () => {
    const dataDir = await setUp();
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    try {
      await db.set('MORE', { y: 1 });
      const made = await db.archive.create({ level: 1 });
      expect(made.warnings.some((w) => /disagrees with the manifest/.test(w))).toBe(true);
      // Rewritten by that archive: the next one has nothing to say.
      await db.set('MORE2', { y: 2 });
      expect((await db.archive.create({ level: 1 })).warnings).toEqual([]);
    } finally {
      await db.close();
    }
  }, 60_000);
});
