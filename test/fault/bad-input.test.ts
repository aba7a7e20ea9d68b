import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { BriError } from '../../src/errors.js';
import { recover } from '../../src/store/recovery.js';
import { copyFixture, fixturesPresent, makeTempDir } from '../support/fixtures.js';
import { treeDigest } from '../support/tree.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

/** Opening must fail with `code`, a hint, and leave every byte of the directory as it was. */
async function expectRefused(dataDir: string, code: string, message?: RegExp): Promise<BriError> {
  const before = await treeDigest(dataDir);
  let caught: unknown;
  try {
    const db = await createDB({ storeConfig: { dataDir } });
    await db.close();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(BriError);
  const err = caught as BriError;
  expect(err.code).toBe(code);
  expect(err.hint).toBeTruthy();
  if (message) expect(err.message).toMatch(message);
  expect(await treeDigest(dataDir)).toEqual(before);
  return err;
}

async function fixture(name: 'small' | 'crashed'): Promise<string> {
  const dir = await copyFixture(name);
  made.push(path.dirname(dir));
  return dir;
}

describe('bad input gives a typed error and changes nothing', () => {
  it('a directory that is not a data directory', async () => {
    const dir = await makeTempDir('bri-notdata-');
    made.push(dir);
    await fsp.writeFile(path.join(dir, 'notes.txt'), 'hello');
    await expectRefused(dir, 'NOT_A_DATA_DIR', /notes\.txt/);
    const file = path.join(dir, 'notes.txt');
    await expect(createDB({ storeConfig: { dataDir: file } })).rejects.toMatchObject({ code: 'NOT_A_DATA_DIR' });
    await expect(createDB({ storeConfig: { dataDir: path.join(dir, 'missing'), createIfMissing: false } })).rejects.toMatchObject({ code: 'NOT_A_DATA_DIR' });
  });

  it.skipIf(!fixturesPresent())('an unreadable snapshot', async () => {
    const dir = await fixture('small');
    await fsp.rm(path.join(dir, 'snapshot.jss'));
    await fsp.mkdir(path.join(dir, 'snapshot.jss')); // reading a directory fails even for root
    await expectRefused(dir, 'SNAPSHOT_CORRUPTED', /cannot read/);
  });

  it.skipIf(!fixturesPresent())('a malformed snapshot: truncated, not JSS, wrong fields', async () => {
    const dir = await fixture('small');
    const snap = path.join(dir, 'snapshot.jss');
    const text = await fsp.readFile(snap, 'utf8');
    for (const bad of [text.slice(0, text.length / 2), '{"version":3,"walLine":1,"timestamp<!D>":1}', '{"version":2,"walLine":-4,"timestamp<!D>":1}', '[]', '{"version":2,"walLine":1,"timestamp<!D>":1,"documents":5}', '{"version":2,"walLine":1,"timestamp<!D>":1,"documents":{},"collections":{"s":5}}']) {
      await fsp.writeFile(snap, bad);
      await expectRefused(dir, 'SNAPSHOT_CORRUPTED', /snapshot\.jss/);
    }
  });

  it.skipIf(!fixturesPresent())('a WAL with garbage lines names the line', async () => {
    const dir = await fixture('crashed');
    const seg = path.join(dir, 'wal', '000006.wal');
    const lines = (await fsp.readFile(seg, 'utf8')).split('\n');
    lines.splice(10, 0, 'this is not a WAL line');
    await fsp.writeFile(seg, lines.join('\n'));
    const err = await expectRefused(dir, 'WAL_CORRUPTED', /wal\/000006\.wal line 11/);
    expect(err.details).toMatchObject({ segment: '000006.wal', segmentLine: 11 });
    // BRI's own policy (skip) still opens it.
    const rec = await recover(dir, { invalidLines: 'skip' });
    expect(rec.skipped).toHaveLength(1);
  });

  it.skipIf(!fixturesPresent())('a line whose entry is not an operation', async () => {
    const dir = await fixture('crashed');
    await fsp.appendFile(path.join(dir, 'wal', '000008.wal'), '1795492782999|0123abcd|{"action":"DROP","target":"x"}\n');
    await expectRefused(dir, 'WAL_CORRUPTED', /unknown action/);
  });

  it.skipIf(!fixturesPresent())('a snapshot line past the end of the WAL (segments removed without lowering walLine)', async () => {
    const dir = await fixture('small');
    await fsp.rm(path.join(dir, 'wal', '000000.wal'));
    await expectRefused(dir, 'WAL_CORRUPTED', /walLine 760/);
  });

  it.skipIf(!fixturesPresent())('a lock held by a live process', async () => {
    const dir = await fixture('small');
    await fsp.writeFile(path.join(dir, 'bri.lock'), JSON.stringify({ pid: 1, host: os.hostname(), since: 0, purpose: 'bri archive create' }));
    await expectRefused(dir, 'LOCKED', /pid 1 .*bri archive create/);
  });
});
