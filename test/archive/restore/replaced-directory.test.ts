/**
 * A restore over a directory of ANOTHER instance (a fork written to since, another database given as
 * --target) used to say nothing of that directory's unarchived lines, and --clean-existing deleted them
 * with the directory, and with it archives the restore did not keep (another database's only copies).
 * Entries no archive holds (an application's settings, an index) went the same way without a word.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { recover } from '../../../src/store/recovery.js';
import { makeTempDir } from '../../support/fixtures.js';
import { runCli } from '../../support/cli.js';

const pause = () => new Promise((r) => setTimeout(r, 5));

async function write(dir: string, prefix: string, n: number, archive: boolean): Promise<number> {
  const db = await createDB({ storeConfig: { dataDir: dir } });
  for (let i = 0; i < n; i++) {
    await db.set(`${prefix}${i}`, { i });
    await pause();
  }
  if (archive) await db.archive.create();
  const mark = Date.now();
  await pause();
  await db.close();
  return mark;
}

const keys = async (dir: string) => [...(await recover(dir)).state.documents.keys()];

describe('a restore over a directory of another instance', () => {
  it('a fork written to since: its unarchived lines are said, dry run and real run, before --clean-existing deletes them', async () => {
    const dir = path.join(await makeTempDir(), 'd');
    const mark = await write(dir, 'A', 3, true);
    await write(dir, 'B', 3, true);
    const rolledBack = (await readArchiveState(dir))!.instanceId;
    await openRestore({ dataDir: dir }).toTimestamp(mark, { force: true, cleanExisting: true });
    await write(dir, 'IMPORTANT_', 4, false);
    const api = openRestore({ dataDir: dir });
    // The instance rolled back, named: the fork's own newest state is in no archive (own-state-not-archived.test.ts).
    const dry = await api.fromLatest({ force: true, cleanExisting: true, dryRun: true, instanceId: rolledBack });
    expect(dry.warnings).toEqual([expect.stringMatching(/is instance .*, not the one restored; it holds 4 lines in no archive \(lines 4\.\.7, .*: the restore would delete them with it \(--clean-existing\)/)]);
    const real = await api.fromLatest({ force: true, cleanExisting: true, instanceId: rolledBack });
    expect(real.warnings).toEqual([expect.stringMatching(/it holds 4 lines in no archive .*: deleted them with it \(--clean-existing\)/)]);
  });

  it('rolled back in place twice: the lines the first rollback took from the archives are not said to be in no archive; lines written since are', async () => {
    const dir = path.join(await makeTempDir(), 'd');
    await write(dir, 'A', 3, true);
    const db = await createDB({ storeConfig: { dataDir: dir } });
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      await db.set(`B${i}`, { i });
      times.push(Date.now());
      await pause();
    }
    await db.archive.create();
    await db.close();
    const api = openRestore({ dataDir: dir });
    // Lines 1..3 in the first archive, 4..9 in the second: the first rollback takes 4..8 from it.
    await api.toTimestamp(times[4]!, { force: true, cleanExisting: true });
    const second = await api.toTimestamp(times[1]!, { force: true, cleanExisting: true, dryRun: true });
    expect(second.warnings.filter((w) => /in no archive/.test(w))).toEqual([]);
    await write(dir, 'OWN_', 2, false);
    const after = await openRestore({ dataDir: dir }).toTimestamp(times[1]!, { force: true, cleanExisting: true, dryRun: true });
    expect(after.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/it holds 2 lines in no archive \(lines 9\.\.10,/)]));
  });

  it('another database as --target with --clean-existing: refused USAGE naming its archives, dry run and real run; nothing changed', async () => {
    const root = await makeTempDir();
    const mine = path.join(root, 'mine');
    const theirs = path.join(root, 'theirs');
    await write(mine, 'M', 3, true);
    await write(theirs, 'T', 3, true);
    await write(theirs, 'U', 3, false);
    const before = fs.readdirSync(path.join(theirs, 'archives')).sort();
    for (const dryRun of [true, false]) {
      const r = await runCli(['restore', 'latest', '-d', mine, '--target', theirs, '--force', '--clean-existing', ...(dryRun ? ['--dry-run'] : [])]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('USAGE');
      expect(r.stderr).toContain(path.join(theirs, 'archives'));
    }
    expect(fs.readdirSync(path.join(theirs, 'archives')).sort()).toEqual(before);
    expect(await keys(theirs)).toEqual(expect.arrayContaining(['T0', 'U2']));
  });

  it('another database as --target, kept aside: its unarchived lines are said with where they are kept', async () => {
    const root = await makeTempDir();
    const mine = path.join(root, 'mine');
    const theirs = path.join(root, 'theirs');
    await write(mine, 'M', 3, true);
    await write(theirs, 'T', 3, false);
    const r = await openRestore({ dataDir: mine }).fromLatest({ targetDir: theirs, force: true });
    expect(r.warnings).toContainEqual(expect.stringMatching(new RegExp(`is a database never archived; it holds 3 lines in no archive \\(lines 1\\.\\.3, .*: kept in ${r.movedAside!.replace(/\./g, '\\.')}`)));
    expect(await keys(r.movedAside!)).toEqual(expect.arrayContaining(['T0', 'T2']));
  });

  it('entries no archive holds (settings, an index, transactions under way) are listed, dry run and real run, with where they go', async () => {
    const dir = path.join(await makeTempDir(), 'd');
    await write(dir, 'A', 2, true);
    fs.writeFileSync(path.join(dir, 'app-settings.json'), '{}');
    fs.mkdirSync(path.join(dir, 'myindex'));
    fs.mkdirSync(path.join(dir, 'txn'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'txn', 'pending'), 'x');
    const api = openRestore({ dataDir: dir });
    const dry = await api.fromLatest({ force: true, cleanExisting: true, dryRun: true });
    expect(dry.warnings).toContainEqual('the directory replaced holds entries that no archive holds and the restore does not bring back: app-settings.json, myindex/, txn/: the restore would delete them with it (--clean-existing)');
    const real = await api.fromLatest({ force: true });
    expect(real.warnings).toContainEqual(`the directory replaced holds entries that no archive holds and the restore does not bring back: app-settings.json, myindex/, txn/: kept in ${real.movedAside}, not in the restored directory`);
    expect(fs.existsSync(path.join(real.movedAside!, 'app-settings.json'))).toBe(true);
  });
});
