/**
 * Time travel reads the data directory's own WAL after the archives and the shipped WAL: the changes
 * since the last archive are on the local disk and nowhere else yet. Before, a history ended at the
 * last archive as if nothing came after (and said nothing), and a rollback to a moment after it (ten
 * minutes ago, the last archive an hour ago) was TIMESTAMP_NOT_FOUND. The WAL is read only where it
 * continues the archives' chain: a directory holding another history is never taken for it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import type { SourceProblem } from '../../../src/archive/copies/fetch.js';
import { parseEncryptionKey } from '../../../src/format/encryption.js';
import { recover } from '../../../src/store/recovery.js';
import { verifyChain } from '../../../src/store/wal/chain.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-tail-');
const tick = () => new Promise((r) => setTimeout(r, 4));
const values = (entries: Array<{ value: string | null }>) => entries.map((e) => (e.value === null ? null : (JSON.parse(e.value) as { v: number }).v));

describe('time travel reads the data directory after the archives', () => {
  it('on a running database: the changes since the last archive are in history, read, diff and rollback', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      for (let v = 0; v < 3; v++) for (const k of ['A', 'B', 'C']) await db.set(k, { v });
      await db.archive.create();
      await tick();
      await db.set('A', { v: 10 });
      await db.sAdd('S', 'x');
      await tick();
      const good = Date.now();
      await tick();
      // A bad migration, after the archive: only the data directory holds it.
      await db.set('A', { v: 666 });
      await db.set('B', { v: 666 });
      await db.delete('C');
      await db.sAdd('S', 'bad');

      const h = await db.restore.history('A');
      expect(values(h.entries)).toEqual([0, 1, 2, 10, 666]);
      expect(h.entries.map((e) => e.line)).toEqual([1, 4, 7, 10, 12]);
      expect(h.missing).toEqual([]);
      expect((await db.restore.read('A', { at: good })).document).toBe('{"v":10}');
      expect((await db.restore.read('C', { at: good })).exists).toBe(true);
      const d = await db.restore.diff({ at: good });
      expect([d.added, d.changed, d.removed, d.sets]).toEqual([[], ['A', 'B'], ['C'], { S: { added: ['bad'], removed: [] } }]);

      const dry = await db.restore.rollback(['A', 'B', 'C', 'S'], { at: good, dryRun: true });
      expect(dry.writes).toBe(0);
      expect(db.get('A')).toEqual({ v: 666 });
      const done = await db.restore.rollback(['A', 'B', 'C', 'S'], { at: good });
      expect(done.writes).toBe(4);
      expect(db.get('A')).toEqual({ v: 10 });
      expect(db.get('B')).toEqual({ v: 2 });
      expect(db.get('C')).toEqual({ v: 2 });
      expect([...db.sMembers('S')]).toEqual(['x']);
      // The rollback is itself in the history, read from the data directory as well.
      expect(values((await db.restore.history('A')).entries)).toEqual([0, 1, 2, 10, 666, 10]);
      // A moment that has not come is not answered from what was written so far.
      await expect(db.restore.read('A', { at: Date.now() + 60_000 })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    } finally {
      await db.close();
    }
    expect((await verifyChain(dataDir)).ok).toBe(true);
  });

  it('a moment past what can be answered is TIMESTAMP_NOT_FOUND as a diff\'s or a history\'s `to` too', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      const early = Date.now();
      await tick();
      await db.archive.create();
      await tick();
      await db.set('A', { v: 2 });
      await tick();
      const now = Date.now();
      // From the archives alone (one source asked), the last write is past what they hold.
      const local = { source: 'local' };
      await expect(db.restore.diff({ ...local, at: early, to: now })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
      await expect(db.restore.history('A', { ...local, to: now })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
      expect(values((await db.restore.history('A', local)).entries)).toEqual([1]);
      // With the data directory, up to now; a moment not yet come is refused.
      expect((await db.restore.diff({ at: early, to: now })).changed).toEqual(['A']);
      expect(values((await db.restore.history('A', { to: now })).entries)).toEqual([1, 2]);
      await expect(db.restore.diff({ at: early, to: Date.now() + 60_000 })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
      await expect(db.restore.history('A', { to: Date.now() + 60_000 })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    } finally {
      await db.close();
    }
  });

  it('a whole lifecycle: encrypted at rest, shipped, cleaned, then cloned: every answer reaches the last line written', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    await fsp.mkdir(path.join(root, 'nas'));
    const archive = {
      compression: { level: 1 },
      cleanupWal: true,
      remotes: [{ provider: 'local' as const, name: 'nas', path: path.join(root, 'nas') }],
      continuous: { enabled: true, intervalMs: 20 },
    };
    const key = 'ab'.repeat(32);
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 400, encryptionKey: key, archive } });
    const written: number[] = [];
    const put = async (v: number) => {
      await db.set('K', { v });
      written.push(v);
    };
    let good = 0;
    try {
      for (let v = 0; v < 8; v++) await put(v);
      await db.archive.create();
      for (let v = 8; v < 14; v++) await put(v);
      await db.archive.flushShipping();
      // Lines only the data directory holds (not archived, maybe not shipped yet).
      for (let v = 14; v < 17; v++) await put(v);
      await tick();
      good = Date.now();
      await tick();
      await put(666);
      const h = await db.restore.history('K');
      expect(values(h.entries)).toEqual(written);
      expect(h.entries.map((e) => e.line)).toEqual(written.map((_, i) => i + 1));
      await db.restore.rollback(['K'], { at: good });
      expect(db.get('K')).toEqual({ v: 16 });
      expect(values((await db.restore.history('K')).entries)).toEqual([...written, 16]);
    } finally {
      await db.close();
    }
    // A clone of the latest state is a new instance: its answers come from its own WAL, and go on with its writes.
    const cloneDir = path.join(root, 'clone');
    await openRestore({ dataDir, key: parseEncryptionKey(key), config: { remotes: archive.remotes } }).clone({ targetDir: cloneDir });
    const clone = await createDB({ storeConfig: { dataDir: cloneDir, encryptionKey: key } });
    try {
      await clone.set('K', { v: 1000 });
      const ch = await clone.restore.history('K', {});
      expect(values(ch.entries).at(-1)).toBe(1000);
      expect((await clone.restore.read('K', { at: good })).document).toBe('{"v":16}');
    } finally {
      await clone.close();
    }
  });

  it('a clone of a later archive, written to and never archived: show, diff and history answer from its own WAL, from the state it was cloned at; a moment before that is refused', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { v: i });
    await tick();
    const beforeClone = Date.now();
    await tick();
    for (let i = 5; i < 10; i++) await db.set(`A_${i}`, { v: i });
    await db.archive.create();
    for (let i = 0; i < 10; i++) await db.set(`B_${i}`, { v: i });
    const second = await db.archive.create();
    await db.close();
    expect(second.manifest.timeRange.walLines.start).toBe(10);
    const cloneDir = path.join(root, 'clone');
    const cloned = await runCli(['restore', 'clone', '-q', '-d', dataDir, '--target', cloneDir]);
    expect(cloned.code, cloned.stderr).toBe(0);
    const clone = await createDB({ storeConfig: { dataDir: cloneDir } });
    await tick();
    const mid = Date.now();
    await tick();
    await clone.set('C_1', { v: 1 });
    await clone.delete('A_1');
    await clone.set('A_2', { v: 'changed' });
    await tick();
    const end = Date.now();
    await clone.close();
    const api = openRestore({ dataDir: cloneDir });
    expect((await api.read('A_2', { at: mid })).document).toBe('{"v":2}');
    expect((await api.read('A_2', { at: end })).document).toBe('{"v":"changed"}');
    expect((await api.read('A_1', { at: end })).exists).toBe(false);
    expect((await api.read('B_3', { at: end })).document).toBe('{"v":3}');
    const d = await api.diff({ at: mid, to: end });
    expect({ added: d.added, changed: d.changed, removed: d.removed }).toEqual({ added: ['C_1'], changed: ['A_2'], removed: ['A_1'] });
    // The history from the clone on, and what lies before it said as not here.
    const problems: SourceProblem[] = [];
    const h = await api.history('A_2', { onSourceProblem: (p) => problems.push(p) });
    expect(h.entries.map((e) => [e.line, e.action])).toEqual([[23, 'SET']]);
    expect(h.missing).toEqual([expect.objectContaining({ fromLine: 1, toLine: 10 })]);
    expect(problems.map((p) => p.reason).join('\n')).toMatch(/lines 1\.\.10 are before this directory's history starts/);
    // A history from before the clone is its history from the clone on, the rest said as missing.
    const since = await api.history('A_2', { from: beforeClone });
    expect(since.entries.map((e) => e.line)).toEqual([23]);
    expect(since.missing[0]).toMatchObject({ fromLine: 1, toLine: 10 });
    const err = await api.read('A_2', { at: beforeClone }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    expect((err as Error).message).toMatch(/before this directory's history starts/);
  });

  it('numbers lines as the archives do after a cleanup removed archived WAL, and answers before any archive', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 300, archive: { compression: { level: 1 }, cleanupWal: true } } });
    try {
      for (let v = 0; v < 20; v++) await db.set(`K${v % 4}`, { v });
      // Nothing archived yet: the WAL alone, from its first line.
      const first = await db.restore.history('K1');
      expect(values(first.entries)).toEqual([1, 5, 9, 13, 17]);
      await db.archive.create();
      const removed = JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { removedLines: number };
      expect(removed.removedLines).toBeGreaterThan(0);
      for (let v = 20; v < 30; v++) await db.set(`K${v % 4}`, { v });
      const h = await db.restore.history('K1');
      expect(h.entries.slice(0, first.entries.length)).toEqual(first.entries);
      expect(values(h.entries)).toEqual([1, 5, 9, 13, 17, 21, 25, 29]);
      expect(h.entries.map((e) => e.line)).toEqual([2, 6, 10, 14, 18, 22, 26, 30]);
    } finally {
      await db.close();
    }
  });

  it('a directory restored in place answers with its own history, not the undone changes of the archives', async () => {
    const dataDir = path.join(await tmp(), 'data');
    let db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let v = 0; v < 5; v++) await db.set('K', { v });
    await tick();
    const mid = Date.now();
    await tick();
    for (let v = 5; v < 10; v++) await db.set('K', { v });
    await db.archive.create();
    await db.close();
    await openRestore({ dataDir }).toTimestamp(mid, { cleanExisting: true, force: true });
    db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('K', { v: 100 });
      const h = await db.restore.history('K');
      expect(values(h.entries)).toEqual([0, 1, 2, 3, 4, 100]);
      expect((await db.restore.read('K', { at: Date.now() - 1 })).document).toBe('{"v":100}');
    } finally {
      await db.close();
    }
  });

  it('a new data directory with no line yet, beside archives from elsewhere, leaves the answers to them', async () => {
    const root = await tmp();
    const archiveDir = path.join(root, 'archives');
    const a = await createDB({ storeConfig: { dataDir: path.join(root, 'a'), archive: { localDir: archiveDir, compression: { level: 1 } } } });
    await a.set('K', { v: 1 });
    await tick();
    const at = Date.now();
    await a.archive.create();
    await a.close();
    const fresh = path.join(root, 'fresh');
    await (await createDB({ storeConfig: { dataDir: fresh } })).close();
    const api = openRestore({ dataDir: fresh, archiveDir });
    expect((await api.read('K', { at })).document).toBe('{"v":1}');
    expect(values((await api.history('K')).entries)).toEqual([1]);
  });

  it('a data directory whose WAL goes another way than the archives is not read as their continuation', async () => {
    const root = await tmp();
    const archiveDir = path.join(root, 'archives');
    const a = await createDB({ storeConfig: { dataDir: path.join(root, 'a'), archive: { localDir: archiveDir, compression: { level: 1 } } } });
    for (let v = 0; v < 5; v++) await a.set('K', { v });
    await a.archive.create();
    const end = Date.now();
    await a.close();
    // Another directory claiming the same instance, with lines of its own past the archive's end.
    const other = path.join(root, 'b');
    const b = await createDB({ storeConfig: { dataDir: other } });
    for (let v = 50; v < 60; v++) await b.set('K', { v });
    await b.close();
    const state = JSON.parse(await fsp.readFile(path.join(root, 'a', 'bri-archive.json'), 'utf8')) as { instanceId: string };
    await fsp.writeFile(path.join(other, 'bri-archive.json'), JSON.stringify({ version: 1, instanceId: state.instanceId, removedLines: 0, last: null }));
    const api = openRestore({ dataDir: other, archiveDir });
    const got: SourceProblem[] = [];
    const h = await api.history('K', { onSourceProblem: (p) => got.push(p) });
    expect(values(h.entries)).toEqual([0, 1, 2, 3, 4]);
    expect(h.missing).toEqual([{ fromLine: 6, toLine: null, reason: expect.stringContaining('another history') as unknown }]);
    // Said once, with where the answer stops.
    expect(got.filter((p) => p.reason.includes('another history'))).toEqual([{ source: 'data directory', reason: expect.stringMatching(/another history.*the answer stops at line 5$/) as unknown }]);
    await expect(api.read('K', { at: Date.now() })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    // Before the first line: the empty state the first archive starts from, not the other directory's lines.
    expect((await api.read('K', { at: end - 1_000_000 })).exists).toBe(false);
  });

  it('through the CLI on a stopped database: history shows the unarchived change, keys rolls back past the archive', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    await db.set('B', { v: 1 });
    await db.archive.create();
    await db.set('A', { v: 2 });
    await tick();
    const good = Date.now();
    await tick();
    await db.set('A', { v: 3 });
    await db.set('B', { v: 3 });
    await db.close();

    const h = await runCli(['archive', 'history', 'A', '-d', dataDir, '--json']);
    expect(h.code, h.stderr).toBe(0);
    expect(values((JSON.parse(h.stdout) as { entries: Array<{ value: string | null }> }).entries)).toEqual([1, 2, 3]);
    const k = await runCli(['restore', 'keys', 'A', '--at', String(good), '-d', dataDir, '--json']);
    expect(k.code, k.stderr).toBe(0);
    const after = (await recover(dataDir)).state;
    expect(after.documents.get('A')).toBe('{"v":2}');
    expect(after.documents.get('B')).toBe('{"v":3}');
    expect((await verifyChain(dataDir)).ok).toBe(true);
  });
});
