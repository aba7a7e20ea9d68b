/**
 * One writer: the commands that change the archives (delete, prune, repair in place, rekey, upload) take the
 * data directory's lock as create does, so they are refused (LOCKED, exit 11) beside a running database or a
 * create in progress, and leave everything as it was; the commands that only read keep working without it.
 * In process, a delete asked while an archive run is under way waits for the run (its WAL cleanup included).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-one-writer-');

/** Every file under `dir` with its bytes, to tell that nothing changed. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[path.relative(dir, path.join(e.parentPath, e.name))] = (await fsp.readFile(path.join(e.parentPath, e.name))).toString('base64');
  }
  return out;
}

describe('one writer', () => {
  it('delete, prune, repair --in-place, rekey and upload beside a running database are LOCKED and change nothing; list, get, verify, inspect, stats, prune --dry-run, history and show still answer', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify({ keepLocal: 1, remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const identity = await generateIdentity();
    const keyFile = path.join(r, 'old.key');
    await fsp.writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
    const recipient = await identityToRecipient(await generateIdentity());
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      const ids: string[] = [];
      for (let k = 0; k < 2; k++) {
        await db.set('A', { k });
        ids.push((await db.archive.create()).archiveId);
      }
      const [first, second] = ids as [string, string];
      const archives = path.join(dataDir, 'archives');
      const before = await tree(archives);
      const base = ['-d', dataDir];
      const writers: string[][] = [
        ['archive', 'delete', first, ...base],
        ['archive', 'delete', first, ...base, '--force'],
        ['archive', 'prune', ...base, '-c', config],
        ['archive', 'repair', first, '--in-place', ...base],
        ['archive', 'repair', path.join(archives, `${first}.bri`), '--out', path.join(archives, `${first}.bri`), ...base],
        ['archive', 'rekey', ...base, '--recipient', recipient, '--identity', keyFile],
        ['archive', 'upload', ...base, '-c', config],
      ];
      for (const [i, res] of (await Promise.all(writers.map((args) => runCli(args)))).entries()) {
        expect(res.code, `${writers[i]!.join(' ')}: ${res.stderr}`).toBe(11);
        expect(res.stderr).toMatch(/LOCKED/);
      }
      expect(await tree(archives)).toEqual(before);
      expect(fs.existsSync(nas)).toBe(false);
      // A remote that cannot be listed is said by prune (exit 40/41): the readers run with it in place.
      await fsp.mkdir(nas);
      const readers: string[][] = [
        ['archive', 'list', ...base],
        ['archive', 'get', first, ...base],
        ['archive', 'verify', first, ...base],
        ['archive', 'verify', '--all', ...base],
        ['archive', 'inspect', path.join(archives, `${second}.bri`), ...base],
        ['archive', 'stats', ...base],
        ['archive', 'prune', '--dry-run', ...base, '-c', config],
        ['archive', 'history', 'A', ...base],
        ['archive', 'show', 'A', '--at', new Date().toISOString(), ...base],
        // A repaired copy written outside the archives changes none of them.
        ['archive', 'repair', first, '--out', path.join(r, 'copy.bri'), ...base],
      ];
      for (const [i, res] of (await Promise.all(readers.map((args) => runCli(args)))).entries()) expect(res.code, `${readers[i]!.join(' ')}: ${res.stderr}`).toBe(0);
    } finally {
      await db.close();
    }
    // Once the database is closed, the same commands run.
    const del = await runCli(['archive', 'delete', (await fsp.readdir(path.join(dataDir, 'archives'))).find((f) => f.endsWith('.bri'))!.replace(/\.bri$/, ''), '-d', dataDir, '--force']);
    expect(del.code, del.stderr).toBe(0);
  }, 60_000);

  it('a delete asked while an archive run is under way is decided after the run: its upload and WAL cleanup leave the archive the only holder of lines no longer in wal/, so deleting it is refused, not done behind their back', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1024, archive: { cleanupWal: true, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    try {
      for (let i = 0; i < 30; i++) await db.set(`A_${i}`, { i, pad: 'p'.repeat(60) });
      // The remote is not there yet: the first archive is kept, its lines stay in wal/.
      const first = await db.archive.create();
      expect(first.uploads).toEqual([expect.objectContaining({ outcome: 'failed' })]);
      await fsp.mkdir(nas);
      for (let i = 0; i < 30; i++) await db.set(`B_${i}`, { i, pad: 'p'.repeat(60) });
      // Not awaited: the delete is asked while the second run (create, upload of both, WAL cleanup) is under way.
      const run = db.archive.create();
      const del = db.archive.delete(first.archiveId);
      const [made, deleted] = await Promise.allSettled([run, del]);
      expect(made).toMatchObject({ status: 'fulfilled', value: { cleanup: { segments: expect.arrayContaining([expect.any(String)]) } } });
      expect(deleted).toMatchObject({ status: 'rejected', reason: { code: 'USAGE', message: expect.stringMatching(/(only copy|deletes every copy) .* no longer in the data directory's wal/) } });
      expect(fs.existsSync(first.file)).toBe(true);
    } finally {
      await db.close();
    }
  }, 60_000);
});
