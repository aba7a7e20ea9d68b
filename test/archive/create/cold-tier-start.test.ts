/**
 * Where a first archive starts when the data directory has a cold tier. Cold files hold documents as last
 * evicted, not as they were at the snapshot's line: an archive started from the snapshot plus cold/ showed,
 * in time travel, documents before they existed and values from later. And a cold file lost made the
 * snapshot look like one whose first segments were removed: the archive left out the WAL's lines, the
 * only copy of that document, and `cleanup-wal` then deleted them as archived.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { encodeJss } from '../../../src/format/jss.js';
import { toPlainState } from '../../../src/format/state.js';
import { encryptText, parseEncryptionKey } from '../../../src/format/encryption.js';
import { decodeSnapshot, encodeSnapshot } from '../../../src/format/snapshot-file.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { copyFixture, FIXTURE_KEY, fixturesPresent, loadCheckpoints, normalizeState } from '../../support/fixtures.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-cold-start-');

async function editSnapshot(dataDir: string, edit: (snap: { walLine: number; documents: Record<string, unknown> }) => void): Promise<void> {
  const file = path.join(dataDir, 'snapshot.jss');
  const snap = JSON.parse(await fsp.readFile(file, 'utf8')) as { walLine: number; documents: Record<string, unknown> };
  edit(snap);
  await fsp.writeFile(file, JSON.stringify(snap));
}

async function restoredAt(dataDir: string, at?: number) {
  const targetDir = path.join(await tmp(), 'restored');
  const api = openRestore({ dataDir });
  try {
    await (at === undefined ? api.fromLatest({ targetDir }) : api.toTimestamp(at, { targetDir }));
  } finally {
    await api.close();
  }
  return normalizeState(toPlainState((await recover(targetDir)).state));
}

describe.runIf(fixturesPresent())('a first archive and the cold tier', () => {
  it('a cold file lost from a directory whose WAL is whole: archived from line 1 (no "first segments removed" warning), and cleanup-wal leaves the document\'s history in the archive', async () => {
    const dataDir = await copyFixture('small');
    await editSnapshot(dataDir, (s) => delete s.documents.USER_9t7ey9m);
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).not.toContain('first segments were removed');
    expect(made.stdout).toMatch(/lines\s+1\.\.760/);
    const cleaned = await runCli(['archive', 'cleanup-wal', '-d', dataDir]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    const history = await runCli(['archive', 'history', 'USER_9t7ey9m', '-d', dataDir]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/line 7\s+SET\s+USER_9t7ey9m/);
    expect((await restoredAt(dataDir)).documents.USER_9t7ey9m).toBeDefined();
  });

  it('a cold file lost from a directory whose snapshot also holds what its WAL lost: refused (ARCHIVE_ERROR) naming the missing cold/<TYPE>/<id>.jss, nothing archived', async () => {
    const dataDir = await copyFixture('small');
    // USER_zzzlost stands for what BRI kept from removed segments; USER_9t7ey9m's cold file is gone.
    await editSnapshot(dataDir, (s) => {
      s.documents.USER_zzzlost = { name: 'kept from removed lines' };
      delete s.documents.USER_9t7ey9m;
    });
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code).toBe(23);
    expect(made.stderr).toContain('cold/USER/9t7ey9m.jss is missing');
    expect(await fsp.readdir(path.join(dataDir, 'archives')).catch(() => [])).not.toContainEqual(expect.stringMatching(/\.bri$/));
  });

  it('an encrypted directory with one cold file damaged still archives from line 1 (the archive does not need the cold tier)', async () => {
    const dataDir = await copyFixture('encrypted');
    const key = parseEncryptionKey(FIXTURE_KEY);
    const snapFile = path.join(dataDir, 'snapshot.jss');
    const snap = decodeSnapshot(await fsp.readFile(snapFile, 'utf8'), key);
    const evicted = [...snap.state.documents.keys()].find((k) => k.startsWith('USER_'))!;
    snap.state.documents.delete(evicted);
    await fsp.writeFile(snapFile, encodeSnapshot(snap, key));
    await fsp.mkdir(path.join(dataDir, 'cold', 'USER'), { recursive: true });
    const sealed = encryptText(key, '{"name":"x"}');
    await fsp.writeFile(path.join(dataDir, 'cold', 'USER', `${evicted.slice(5)}.jss`), sealed.slice(0, 40) + (sealed[40] === 'A' ? 'B' : 'A') + sealed.slice(41));
    const made = await runCli(['archive', 'create', '-d', dataDir], { BRI_ENCRYPTION_KEY: FIXTURE_KEY });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/snapshot\s+at line 0/);
  });

  it('leading segments removed and two documents in cold/ (one created after the snapshot, one updated after it): the archive starts where cold/ is exact, and every moment it answers for equals the replay', async () => {
    const dataDir = await copyFixture('crashed');
    const end = (await recover(dataDir)).state.documents;
    const wal = path.join(dataDir, 'wal');
    let removed = 0;
    for (const seg of ['000000.wal', '000001.wal', '000002.wal', '000003.wal', '000004.wal']) {
      removed += (await fsp.readFile(path.join(wal, seg), 'utf8')).split('\n').length - 1;
      await fsp.rm(path.join(wal, seg));
    }
    expect(removed).toBe(364); // the snapshot's walLine: BRI's cleanup removes the segments it holds
    // USER_09bn7wh is created at line 367 (after the snapshot), USER_4609w8r updated at line 613: both evicted at the end.
    for (const k of ['USER_09bn7wh', 'USER_4609w8r']) {
      const v = end.get(k)!;
      await fsp.mkdir(path.join(dataDir, 'cold', 'USER'), { recursive: true });
      await fsp.writeFile(path.join(dataDir, 'cold', 'USER', `${k.slice(5)}.jss`), typeof v === 'string' ? v : encodeJss(v as object));
    }
    await editSnapshot(dataDir, (s) => {
      delete s.documents.USER_09bn7wh;
      delete s.documents.USER_4609w8r;
      s.walLine -= removed;
    });
    // The state at a line before a cold document's last write is not in the directory.
    await expect(recover(dataDir, { untilLine: 2 })).rejects.toMatchObject({ code: 'ARCHIVE_ERROR', details: { reason: 'cold-value-unknown', line: 613 - removed } });

    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(new RegExp(`lines\\s+${613 - removed + 1}\\.\\.`));
    const show = await runCli(['archive', 'show', 'USER_09bn7wh', '--at', '1795492782115', '-d', dataDir, '--json']);
    expect(show.stdout).not.toContain('"exists": true');
    let answered = 0;
    for (const cp of loadCheckpoints('crashed')) {
      const got = await restoredAt(dataDir, cp.at).catch((err: { code?: string }) => err.code);
      if (got === 'TIMESTAMP_NOT_FOUND') continue;
      expect(got, `at ${cp.at}`).toEqual(normalizeState(cp.state));
      answered++;
    }
    expect(answered).toBeGreaterThan(0);
    expect(await restoredAt(dataDir)).toEqual(normalizeState(loadCheckpoints('crashed').at(-1)!.state));
  });
});
