/**
 * An archive spliced in from another database: its manifest patched to this database's ids (archive,
 * instance, previous archive), its members and checksums consistent, its chain's prevPointer left as it
 * was (it does not continue this database's previous archive). Verify says so; restore and time travel
 * must refuse it the same way instead of answering with the other database's data.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { makeTempDir } from '../../support/fixtures.js';
import { archiveMembers, repack } from '../package/craft-kit.js';

let root: string;
let dir: string;
let first: string;
let spliced: string;

/** A database with two archives: K0..K4 = `${tag}0..4`, then `${tag}second0..4`. */
async function twoArchives(dataDir: string, tag: string): Promise<[string, string]> {
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  try {
    for (let i = 0; i < 5; i++) await db.set(`K${i}`, { v: `${tag}${i}` });
    const a = await db.archive.create();
    for (let i = 0; i < 5; i++) await db.set(`K${i}`, { v: `${tag}second${i}` });
    const b = await db.archive.create();
    return [a.file, b.file];
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  root = await makeTempDir('bri-spliced-archive-');
  dir = path.join(root, 'mine');
  const [a1, a2] = await twoArchives(dir, 'A');
  const [, x2] = await twoArchives(path.join(root, 'other'), 'X');
  const mine = (await archiveMembers(a2)).manifest;
  first = (await archiveMembers(a1)).manifest.archiveId;
  spliced = mine.archiveId;
  await repack(x2, {
    out: a2,
    edit: (m) => Object.assign(m, { archiveId: mine.archiveId, instanceId: mine.instanceId, previousArchiveId: mine.previousArchiveId }),
  });
}, 60_000);
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

const refusal = () => new RegExp(`ARCHIVE_CORRUPTED[\\s\\S]*archive ${spliced} does not continue archive ${first}`);

describe('an archive spliced in from another database', () => {
  it('verify finds it does not continue the previous archive (the check restore and time travel now share)', async () => {
    const r = await runCli(['archive', 'verify', spliced, '-d', dir]);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`previous archive ${first} ends at pointer \\S+, this one continues`));
    expect(r.code).not.toBe(0);
  }, 60_000);

  it('restore latest refuses it with ARCHIVE_CORRUPTED naming both archives, writing no target', async () => {
    const target = path.join(root, 'restored-latest');
    const r = await runCli(['restore', 'latest', '-d', dir, '--target', target]);
    expect(r.stdout + r.stderr).toMatch(refusal());
    expect(r.code).toBe(21);
    await expect(fsp.stat(target)).rejects.toThrow();
  }, 60_000);

  it('restore from the spliced archive refuses it too', async () => {
    const r = await runCli(['restore', 'from', spliced, '-d', dir, '--target', path.join(root, 'restored-from')]);
    expect(r.stdout + r.stderr).toMatch(refusal());
    expect(r.code).toBe(21);
  }, 60_000);

  it('time travel (history, show at the end) refuses it instead of showing the other database\'s values', async () => {
    const history = await runCli(['archive', 'history', 'K0', '-d', dir]);
    expect(history.stdout + history.stderr).toMatch(refusal());
    expect(history.stdout).not.toContain('Xsecond0');
    expect(history.code).toBe(21);
  }, 60_000);
});
