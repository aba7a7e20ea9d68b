/**
 * The restore journal beside a data directory (`<parent>/.<name>.restore.json`) is where another user may
 * write (a parent the application owns, a sticky /tmp). Any open of the directory, even root's read-only
 * `bri archive list`, "rolled back an unfinished restore" with `rm -rf` of whatever newDir it named.
 * Recovery now acts only on a journal a restore into that directory would have written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { journalPath, recoverInterruptedRestore, type SwapJournal } from '../../src/store/dir-swap.js';
import { APP_GID, APP_UID, NEEDS_ROOT, isRoot } from '../support/app-user.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-foreign-journal-');
const WHEN = '20260101T000000000Z';

/** A data directory with one document, and a directory no restore made (a victim) with a file in it. */
async function dataDirAndVictim(): Promise<{ target: string; victim: string }> {
  const root = await tmp();
  const target = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir: target } });
  await db.set('k', { v: 1 });
  await db.close();
  const victim = path.join(await tmp(), 'victim');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'important.conf'), 'keep');
  return { target, victim };
}

function plant(target: string, j: Partial<SwapJournal> & Record<string, unknown>): string {
  const file = journalPath(target);
  fs.writeFileSync(file, JSON.stringify({ target, newDir: `${target}.restore-${WHEN}`, oldDir: null, phase: 'building', cleanExisting: false, carryOver: [], ...j }));
  return file;
}

async function expectRefused(target: string, file: string): Promise<void> {
  await expect(recoverInterruptedRestore(target)).rejects.toMatchObject({ code: 'RESTORE_ERROR', details: { journal: file }, hint: expect.stringContaining(file) });
  expect(fs.existsSync(file)).toBe(true);
  expect(fs.existsSync(target)).toBe(true);
}

describe('a restore journal a restore into the directory would not have written is refused, nothing deleted or moved', () => {
  it('building, newDir naming a directory elsewhere: RESTORE_ERROR naming the journal; that directory is still there', async () => {
    const { target, victim } = await dataDirAndVictim();
    await expectRefused(target, plant(target, { newDir: victim }));
    expect(fs.readFileSync(path.join(victim, 'important.conf'), 'utf8')).toBe('keep');
  });

  it('a journal for another target, or with an unknown phase, is refused', async () => {
    const { target, victim } = await dataDirAndVictim();
    await expectRefused(target, plant(target, { target: 'x', newDir: victim }));
    await expectRefused(target, plant(target, { phase: 'cleanup' as SwapJournal['phase'] }));
    expect(fs.existsSync(victim)).toBe(true);
  });

  it('swapping, oldDir elsewhere: the data directory is not moved there', async () => {
    const { target } = await dataDirAndVictim();
    const newDir = `${target}.restore-${WHEN}`;
    fs.mkdirSync(newDir);
    await expectRefused(target, plant(target, { phase: 'swapping', newDir, oldDir: path.join(path.dirname(target), 'elsewhere') }));
    expect(fs.existsSync(newDir)).toBe(true);
  });

  it('carryOver or moveIn with `..`, an absolute path, or a link on the way is refused before any rename', async () => {
    const { target, victim } = await dataDirAndVictim();
    const newDir = `${target}.restore-${WHEN}`;
    const swapping = { phase: 'swapping' as const, newDir, oldDir: `${target}.pre-restore-${WHEN}` };
    for (const bad of [{ carryOver: ['../../etc'] }, { carryOver: [victim] }, { moveIn: [{ from: '.restore-seeds/.seeds', to: '../x' }] }]) {
      fs.mkdirSync(newDir, { recursive: true });
      await expectRefused(target, plant(target, { ...swapping, ...bad }));
      expect(fs.existsSync(newDir)).toBe(true);
    }
    fs.symlinkSync(path.dirname(victim), path.join(target, 'through'));
    await expectRefused(target, plant(target, { ...swapping, carryOver: ['through/victim'] }));
    expect(fs.readFileSync(path.join(victim, 'important.conf'), 'utf8')).toBe('keep');
  });

  it('a journal a restore wrote (its own build directory beside the target) is still rolled back', async () => {
    const { target } = await dataDirAndVictim();
    const newDir = `${target}.restore-${WHEN}`;
    fs.mkdirSync(newDir);
    plant(target, { carryOver: ['archives'], moveIn: [{ from: '.restore-seeds/.seeds', to: 'archives/.seeds' }] });
    expect(await recoverInterruptedRestore(target)).toContain('rolled back');
    expect(fs.existsSync(newDir)).toBe(false);
    expect(fs.existsSync(journalPath(target))).toBe(false);
  });

  it('bri archive list on the directory: exits with RESTORE_ERROR naming the journal, the named directory kept', async () => {
    const { target, victim } = await dataDirAndVictim();
    const file = plant(target, { newDir: victim });
    const r = await runCli(['archive', 'list', '-d', target]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('RESTORE_ERROR');
    expect(r.stderr).toContain(file);
    expect(fs.readFileSync(path.join(victim, 'important.conf'), 'utf8')).toBe('keep');
  }, 60_000);
});

describe.skipIf(!isRoot)(`as root, in a sticky world-writable directory${NEEDS_ROOT}`, () => {
  it('a well-formed journal of another user (not the directory\'s owner) is refused: root\'s build-named directory is kept', async () => {
    const shared = await tmp();
    fs.chmodSync(shared, 0o1777);
    const target = path.join(shared, 'mydb');
    const db = await createDB({ storeConfig: { dataDir: target } });
    await db.close();
    const newDir = `${target}.restore-${WHEN}`;
    fs.mkdirSync(newDir);
    fs.writeFileSync(path.join(newDir, 'f'), 'x');
    const file = plant(target, {});
    fs.chownSync(file, APP_UID, APP_GID);
    await expectRefused(target, file);
    expect(fs.existsSync(path.join(newDir, 'f'))).toBe(true);
  });
});
