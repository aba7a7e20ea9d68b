/**
 * A restore of an archive that holds the state alone (no WAL line) leaves wal/ empty, and the next line
 * is chained from '' (45a706b: archive create takes it and records prevPointer ''). The readers after
 * it take it too: `archive verify --all` does not call the two archives a broken chain, and time travel
 * reads that line from the data directory (before the next archive) and from the new archive (after).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listLocalArchives } from '../../../src/archive/copies/local-catalog.js';
import { createDB } from '../../../src/db.js';
import { encodeSnapshot } from '../../../src/format/snapshot-file.js';
import { listSegments } from '../../../src/store/layout.js';
import { recover } from '../../../src/store/recovery.js';
import { appendLinesAt, setOp } from '../../support/bri-lines.js';
import { besideOriginalUnsaid, runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-restart-');
const T0 = Date.UTC(2025, 0, 1);
/** Now: a moment at or after every line written so far. */
const soon = () => new Date().toISOString();

/** A BRI directory whose first segment was removed and the snapshot's walLine lowered to 0: its first archive holds the state alone. */
async function stateOnlyArchived(root: string): Promise<{ dataDir: string; archiveDir: string }> {
  const dataDir = path.join(root, 'data');
  const archiveDir = path.join(dataDir, 'archives');
  await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
  const seg0 = path.join(dataDir, 'wal', '000000.wal');
  const prev = appendLinesAt(T0, seg0, '', [0, 1, 2, 3].map((i) => [i, setOp(`K${i}`, `v${i}`)]));
  appendLinesAt(T0, path.join(dataDir, 'wal', '000001.wal'), prev, [[10, setOp('K4', 'v4')]]);
  const { state } = await recover(dataDir, { untilLine: 4 });
  await fsp.rm(seg0);
  await fsp.writeFile(path.join(dataDir, 'snapshot.jss'), encodeSnapshot({ version: 2, walLine: 0, timestamp: T0 + 3, state }));
  expect((await runCli(['archive', 'create', '-d', dataDir])).code).toBe(0);
  return { dataDir, archiveDir };
}

async function writeNew(dataDir: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('NEW', { n });
  await db.close();
}

/** The value `archive show NEW --at now` gives, and the values its history lists. */
async function seenNow(dataDir: string): Promise<{ at: unknown; history: unknown[] }> {
  const shown = await runCli(['archive', 'show', 'NEW', '--at', soon(), '-d', dataDir, '--json']);
  expect(shown.stderr).toBe('');
  expect(shown.code).toBe(0);
  const history = await runCli(['archive', 'history', 'NEW', '-d', dataDir, '--json']);
  // (Line 1 itself is before the first archive's state: said, and no concern of the data directory's line.)
  expect(history.stderr).not.toContain('data directory');
  expect(history.code).toBe(0);
  const entries = (JSON.parse(history.stdout) as { entries: Array<{ value: string | null }> }).entries;
  return { at: JSON.parse(shown.stdout as string).document, history: entries.map((e) => (e.value === null ? null : JSON.parse(e.value))) };
}

async function verifyAll(dataDir: string): Promise<void> {
  const verified = await runCli(['archive', 'verify', '--all', '-d', dataDir]);
  expect(verified.stdout).not.toContain('FAILED');
  expect(verified.code).toBe(0);
}

/** Archives the data directory: a run that says nothing and succeeds. */
async function archiveNow(dataDir: string): Promise<void> {
  const made = await runCli(['archive', 'create', '-d', dataDir]);
  expect(made.stderr).toBe('');
  expect(made.code).toBe(0);
}

describe('the readers of a chain restarted from the empty pointer after a state-only restore', () => {
  it('verify --all passes the archive that starts the chain again from the empty pointer, and the one after it', async () => {
    const root = await tmp();
    const { dataDir } = await stateOnlyArchived(root);
    expect((await runCli(['restore', 'latest', '-d', dataDir, '--force'])).code).toBe(0);
    await writeNew(dataDir, 1);
    await archiveNow(dataDir);
    await verifyAll(dataDir);
    await writeNew(dataDir, 2);
    await archiveNow(dataDir);
    await verifyAll(dataDir);
  }, 180_000);

  it('show --at, history and diff read the line written after it from the data directory, then from the next archive (verified, restored to now)', async () => {
    const root = await tmp();
    const { dataDir, archiveDir } = await stateOnlyArchived(root);
    expect((await runCli(['restore', 'latest', '-d', dataDir, '--force'])).code).toBe(0);
    await writeNew(dataDir, 1);
    // Before the next archive: only the data directory holds the line.
    expect(await seenNow(dataDir)).toEqual({ at: '{"n":1}', history: [{ n: 1 }] });
    const diff = await runCli(['restore', 'diff', '--at', new Date(T0 + 10).toISOString(), '--to', soon(), '-d', dataDir, '--json']);
    expect(diff.stderr).toBe('');
    expect((JSON.parse(diff.stdout) as { added: string[] }).added).toEqual(['NEW']);
    await archiveNow(dataDir);
    const newest = (await listLocalArchives(archiveDir)).map((a) => a.manifest).find((m) => m.timeRange.walLines.end === 2);
    expect(newest?.chain.prevPointer).toBe('');
    await verifyAll(dataDir);
    expect(await seenNow(dataDir)).toEqual({ at: '{"n":1}', history: [{ n: 1 }] });
    const restored = path.join(root, 'restored');
    const toNow = await runCli(['restore', 'to-timestamp', soon(), '-d', dataDir, '--target', restored]);
    expect(besideOriginalUnsaid(toNow.stderr)).toBe('');
    expect((await recover(restored)).state.documents.get('NEW')).toBe('{"n":1}');

    // The lifecycle goes on: a line after it (from the data directory, then from the archive after that one).
    await writeNew(dataDir, 2);
    expect(await seenNow(dataDir)).toEqual({ at: '{"n":2}', history: [{ n: 1 }, { n: 2 }] });
    await archiveNow(dataDir);
    await verifyAll(dataDir);
    expect(await seenNow(dataDir)).toEqual({ at: '{"n":2}', history: [{ n: 1 }, { n: 2 }] });
  }, 240_000);

  it('a line chained from the empty pointer after lines wal/ holds is still not read as their continuation', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 3; i++) await db.set(`K${i}`, { i });
    await db.close();
    await archiveNow(dataDir);
    // Line 4 chained from '' as if wal/ had been empty: but lines 1..3 are there before it.
    const [last] = (await listSegments(dataDir)).filter((s) => s.size > 0).slice(-1);
    appendLinesAt(Date.now(), last!.path, '', [[0, setOp('LATE', 'x')]]);
    const shown = await runCli(['archive', 'show', 'LATE', '--at', soon(), '-d', dataDir, '--json']);
    expect(shown.stderr).toContain('its WAL line 4 does not continue the chain');
    expect(shown.stdout).not.toContain('"exists":true');
  }, 120_000);
});
