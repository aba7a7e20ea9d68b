/**
 * A bad line in the data directory's own WAL (no archive damaged: `archive verify --all` finds
 * nothing) made history, show, diff and restore keys answer ARCHIVE_CORRUPTED (exit 21) "line N does
 * not parse", hint "Verify and repair the archive". It is WAL_CORRUPTED (exit 13) now, naming the
 * segment and the line as `bri data verify` does, with the store's hint; a bad line where the WAL
 * joins the archives is that damage too, not a directory holding another history.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-bad-wal-');

/** A database of 4 lines, archived when `archived`, then 4 more; line `n` (the directory's numbering) replaced by `bad(original)`. */
async function damagedDir(archived: boolean, n: number, bad: (line: string) => string): Promise<{ dataDir: string; where: string }> {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  try {
    for (let i = 0; i < 4; i++) await db.set(`A${i}`, { i });
    if (archived) await db.archive.create();
    for (let i = 0; i < 4; i++) await db.set(`A${i}`, { i: i + 10 });
  } finally {
    await db.close();
  }
  const walDir = path.join(dataDir, 'wal');
  let before = 0;
  for (const name of (await fsp.readdir(walDir)).filter((f) => f.endsWith('.wal')).sort()) {
    const file = path.join(walDir, name);
    const lines = (await fsp.readFile(file, 'utf8')).split('\n');
    const held = lines.length - 1;
    if (n <= before + held) {
      lines[n - before - 1] = bad(lines[n - before - 1]!);
      await fsp.writeFile(file, lines.join('\n'));
      return { dataDir, where: `wal/${name} line ${n - before} (global line ${n})` };
    }
    before += held;
  }
  throw new Error(`no line ${n}`);
}

const garbage = () => 'garbage line here';

/** Each time-travel query on the directory: the error it fails with. */
async function failures(dataDir: string): Promise<unknown[]> {
  const api = openRestore({ dataDir });
  const at = Date.now();
  const asked = [api.history('A1'), api.read('A1', { at }), api.diff({ at: at - 60_000 }), api.diff({ at: 0, to: at })];
  return Promise.all(asked.map((p) => p.then(() => 'answered', (err: unknown) => err)));
}

describe("a bad line in the data directory's WAL", () => {
  it('is WAL_CORRUPTED naming its segment and line in history, show, diff and restore keys, exit 13 (it was ARCHIVE_CORRUPTED)', async () => {
    const { dataDir, where } = await damagedDir(true, 6, garbage);
    for (const err of await failures(dataDir)) {
      expect(err).toMatchObject({ code: 'WAL_CORRUPTED', message: `${where}: line does not parse`, hint: expect.stringContaining("Run 'bri data verify'") });
    }
    for (const args of [['archive', 'history', 'A1'], ['restore', 'keys', 'A1', '--at', new Date().toISOString(), '--dry-run']]) {
      const r = await runCli([...args, '-d', dataDir]);
      expect(r.code).toBe(13);
      expect(r.stderr).toContain(`error [WAL_CORRUPTED]: ${where}: line does not parse`);
    }
    expect((await runCli(['archive', 'verify', '--all', '-d', dataDir])).code).toBe(0);
  }, 120_000);

  it('is WAL_CORRUPTED with no archive at all', async () => {
    const { dataDir, where } = await damagedDir(false, 2, garbage);
    for (const err of await failures(dataDir)) expect(err).toMatchObject({ code: 'WAL_CORRUPTED', message: `${where}: line does not parse` });
  });

  it('is WAL_CORRUPTED where the WAL joins the archives (it was taken for another history and left out)', async () => {
    const { dataDir, where } = await damagedDir(true, 5, garbage);
    for (const err of await failures(dataDir)) expect(err).toMatchObject({ code: 'WAL_CORRUPTED', message: `${where}: line does not parse` });
  });

  it('is WAL_CORRUPTED naming its segment and line when it parses but is no operation', async () => {
    const { dataDir, where } = await damagedDir(true, 7, (line) => `${line.slice(0, line.indexOf('|', line.indexOf('|') + 1))}|{"not":"an operation"}`);
    const err = await openRestore({ dataDir }).diff({ at: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPTED', message: expect.stringContaining(`${where}: `) });
  });
});
