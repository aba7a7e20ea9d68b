/**
 * A cold-tier document that no WAL line writes (BRI restarted its WAL after every earlier document was
 * evicted): the store serves it, but a first archive started from the empty state at line 0, and the
 * restore succeeded without it. The archive now starts from the snapshot plus the cold tier; with no
 * snapshot to start from, it is refused naming the cold file.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { copyFixture, fixturesPresent } from '../../support/fixtures.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-cold-outside-wal-');

async function addCold(dataDir: string, type: string, id: string, value: string): Promise<void> {
  await fsp.mkdir(path.join(dataDir, 'cold', type), { recursive: true });
  await fsp.writeFile(path.join(dataDir, 'cold', type, `${id}.jss`), value);
}

async function restoredLatest(dataDir: string): Promise<Map<string, string>> {
  const target = path.join(await tmp(), 'restored');
  const r = await runCli(['restore', 'latest', '-d', dataDir, '--target', target, '-q']);
  expect(r.code, r.stderr).toBe(0);
  return (await recover(target)).state.documents as Map<string, string>;
}

describe.runIf(fixturesPresent())('a cold document that no WAL line writes', () => {
  it('is in the first archive (started from the snapshot plus the cold tier), and restore latest brings it back', async () => {
    const dataDir = await copyFixture('small');
    await addCold(dataDir, 'NOTE', 'abc', '{"a":1}');
    const served = (await recover(dataDir)).state.documents;
    const made = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const restored = await restoredLatest(dataDir);
    expect(restored.get('NOTE_abc')).toBe('{"a":1}');
    expect([...restored.keys()].sort()).toEqual([...served.keys()].sort());
  });

  it('with no snapshot.jss to start from: refused (ARCHIVE_ERROR) naming cold/NOTE/abc.jss, nothing archived; the hint (take a snapshot) works', async () => {
    const dataDir = await copyFixture('small');
    await fsp.rm(path.join(dataDir, 'snapshot.jss'));
    await addCold(dataDir, 'NOTE', 'abc', '{"a":1}');
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code).toBe(23);
    expect(made.stderr).toContain('cold/NOTE/abc.jss holds NOTE_abc');
    expect(made.stderr).toContain('db.createSnapshot()');
    expect(await fsp.readdir(path.join(dataDir, 'archives')).catch(() => [])).not.toContainEqual(expect.stringMatching(/\.bri$/));

    const db = await createDB({ storeConfig: { dataDir } });
    await db.close();
    const again = await runCli(['archive', 'create', '-d', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect((await restoredLatest(dataDir)).get('NOTE_abc')).toBe('{"a":1}');
  });

  it('control: a cold document that a line after the snapshot writes keeps the archive at line 1 (the WAL is whole)', async () => {
    const dataDir = await copyFixture('small');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('NOTE_late', { late: true });
    await db.close();
    // Evicted as BRI evicts: the document's file in cold/, the snapshot (line 760) without it.
    const value = (await recover(dataDir)).state.documents.get('NOTE_late') as string;
    await addCold(dataDir, 'NOTE', 'late', value);
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/lines\s+1\.\.761/);
    expect(made.stderr).not.toContain('do not replay to');
    expect((await restoredLatest(dataDir)).get('NOTE_late')).toBe(value);
  });
});
