/**
 * One big document (BRI writes it as one WAL line of its size) archives and restores like any
 * other: from an archive through the CLI, and from shipped WAL through the API. A line of about
 * 8 MiB made every archive fail with "internal error: RangeError: Maximum call stack size
 * exceeded" and a restore of shipped WAL fail with RESTORE_ERROR.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB, type BriDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { besideOriginalUnsaid, runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const MIB = 1024 * 1024;
const tmp = useTempDirs('bri-big-document-');

/** A document of 9 MiB of plain characters, and one of 20 MiB with a quote and a backslash in every 8 characters (escaped twice in the WAL). */
async function writeBigDocuments(db: BriDB): Promise<void> {
  await db.set('BIG_9', { big: 'x'.repeat(9 * MIB), tail: 'END' });
  await db.set('BIG_20', { big: 'abcdef"\\'.repeat(2.5 * MIB), tail: 'END' });
  await db.set('AFTER', { a: 2 });
}

describe('a document of many megabytes', () => {
  it('archive create, restore latest and data dump: the restored database dumps as the original (CLI)', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    // No snapshot on close: the archive's end state is replayed from the WAL's lines.
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('SMALL', { a: 1 });
    await writeBigDocuments(db);
    await db.close();

    const created = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const target = path.join(root, 'restored');
    const restored = await runCli(['restore', 'latest', '-d', dataDir, '--target', target]);
    expect(besideOriginalUnsaid(restored.stderr)).toBe('');
    expect(restored.code).toBe(0);

    const [original, copy] = await Promise.all([runCli(['data', 'dump', '-d', dataDir]), runCli(['data', 'dump', '-d', target])]);
    expect(copy.code).toBe(0);
    expect(copy.stdout.length).toBeGreaterThan(40 * MIB);
    expect(copy.stdout === original.stdout).toBe(true);
  }, 240_000);

  it('shipped WAL holding the documents restores to the state written (API)', async () => {
    const root = await tmp();
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), archive: { remotes, continuous: { enabled: true, intervalMs: 200 }, compression: { level: 1 } } } });
    await db.set('SMALL', { a: 1 });
    await db.archive.create();
    await writeBigDocuments(db);
    await db.archive.flushShipping();
    const written = toPlainState(db.state);
    await db.close();

    const target = path.join(root, 'restored');
    await openRestore({ dataDir: target, config: { remotes } }).fromLatest();
    const reopened = await createDB({ storeConfig: { dataDir: target } });
    try {
      const got = toPlainState(reopened.state);
      expect(Object.keys(got.documents).sort()).toEqual(['AFTER', 'BIG_20', 'BIG_9', 'SMALL']);
      expect(got.documents['BIG_9'] === written.documents['BIG_9'] && got.documents['BIG_20'] === written.documents['BIG_20']).toBe(true);
      expect(got).toEqual(written);
    } finally {
      await reopened.close();
    }
  }, 240_000);
});
