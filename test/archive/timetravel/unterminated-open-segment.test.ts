/**
 * The open (last) WAL segment of a STOPPED database whose last line is whole and chained but lacks its newline
 * (a crash cut only the '\n'): the store's open, data verify, data dump and archive create take it, and time
 * travel left it out (show said the key did not exist, a dry run of restore keys would delete what the real run,
 * which opens the store, keeps). While a live process holds the lock that line may still be being written: left out.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { encryptText, parseEncryptionKey, type EncryptionKey } from '../../../src/format/encryption.js';
import { encodeOperation, type Operation } from '../../../src/format/operation.js';
import { computePointer } from '../../../src/format/pointer.js';
import { entryAad, parseWalLine } from '../../../src/format/wal-line.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-unterminated-open-');
const HEX = 'cd'.repeat(32);

/** The WAL's segments, oldest first, and the pointer of its last line. */
async function walEnd(dataDir: string): Promise<{ last: string; pointer: string }> {
  const dir = path.join(dataDir, 'wal');
  const names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
  let pointer = '';
  for (const n of names) {
    const lines = (await fsp.readFile(path.join(dir, n), 'utf8')).split('\n').filter((l) => l.length > 0);
    if (lines.length > 0) pointer = parseWalLine(lines.at(-1)!)!.pointer;
  }
  return { last: path.join(dir, names.at(-1)!), pointer };
}

/** Appends `op` as the WAL's last line without its newline, chained from the line before (or from `from`). */
async function appendUnterminated(dataDir: string, op: Operation, o: { key?: EncryptionKey; from?: string; cut?: number } = {}): Promise<void> {
  const { last, pointer } = await walEnd(dataDir);
  const plain = encodeOperation(op);
  const ts = Date.now();
  const p = computePointer(o.from ?? pointer, plain);
  const entry = o.key ? encryptText(o.key, plain, entryAad(ts, p)) : plain;
  const line = `${ts}|${p}|${entry}`;
  await fsp.appendFile(last, line.slice(0, o.cut === undefined ? line.length : line.length - o.cut));
}

async function stoppedDb(dataDir: string, key?: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, ...(key ? { encryptionKey: key } : {}) } });
  await db.set('A', { v: 1 });
  await db.set('B', { v: 1 });
  await db.close();
}

const T: Operation = { action: 'SET', target: 'T', value: '"torn"' };

describe('time travel over the open segment of a stopped database whose last line has no newline', () => {
  it('takes a whole chained last line as the open does: show, history, diff and the restore keys dry run agree with the store', async () => {
    const dataDir = path.join(await tmp(), 'data');
    await stoppedDb(dataDir);
    await appendUnterminated(dataDir, T);
    const at = Date.now();
    const api = openRestore({ dataDir });
    expect(await api.read('T', { at })).toMatchObject({ exists: true, document: '"torn"' });
    expect((await api.history('T')).entries.map((e) => [e.line, e.action])).toEqual([[3, 'SET']]);
    expect((await api.diff({ at: 0 })).added.sort()).toEqual(['A', 'B', 'T']);
    const shown = await runCli(['archive', 'show', 'T', '--at', String(at), '-d', dataDir, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ exists: true, document: '"torn"' });
    // The store holds T (its open terminates the line): a rollback to now writes nothing.
    const dry = await runCli(['restore', 'keys', 'T', '--at', String(at), '-d', dataDir, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).writes).toBe(0);
    expect((await recover(dataDir)).state.documents.get('T')).toBe('"torn"');
  });

  it('takes an encrypted one with the key, and leaves out one whose ciphertext was cut', async () => {
    const root = await tmp();
    const key = parseEncryptionKey(HEX);
    const whole = path.join(root, 'whole');
    await stoppedDb(whole, HEX);
    await appendUnterminated(whole, T, { key });
    const at = Date.now();
    expect(await openRestore({ dataDir: whole, key }).read('T', { at })).toMatchObject({ exists: true, document: '"torn"' });
    const cut = path.join(root, 'cut');
    await stoppedDb(cut, HEX);
    await appendUnterminated(cut, T, { key, cut: 4 });
    const api = openRestore({ dataDir: cut, key });
    expect((await api.read('T', { at: Date.now() })).exists).toBe(false);
    expect((await api.read('B', { at: Date.now() })).exists).toBe(true);
  });

  it('leaves out a last line that does not parse, or does not chain, and answers from the lines before it', async () => {
    const root = await tmp();
    const torn = path.join(root, 'torn');
    await stoppedDb(torn);
    await appendUnterminated(torn, T, { cut: 3 });
    const unchained = path.join(root, 'unchained');
    await stoppedDb(unchained);
    await appendUnterminated(unchained, T, { from: 'not-the-pointer' });
    for (const dataDir of [torn, unchained]) {
      const api = openRestore({ dataDir });
      const at = Date.now();
      expect((await api.read('T', { at })).exists).toBe(false);
      expect((await api.read('B', { at })).exists).toBe(true);
      expect((await api.diff({ at: 0 })).added.sort()).toEqual(['A', 'B']);
    }
  });

  it('leaves it out while the database is open: a line without its newline may still be being written', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      await db.set('A', { v: 1 });
      await appendUnterminated(dataDir, T);
      const at = Date.now();
      expect((await db.restore.read('T', { at })).exists).toBe(false);
      expect((await db.restore.read('A', { at })).exists).toBe(true);
    } finally {
      await db.close().catch(() => undefined);
    }
  });
});
