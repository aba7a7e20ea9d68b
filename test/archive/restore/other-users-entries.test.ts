/**
 * An in-place restore by the app's user of a directory holding another user's entries: an archives/ made by
 * root's `archive create`, or (with --clean-existing) a directory root made in it. The dry run said OK; the real
 * run swapped the directories, then could not move archives/ into the new one (a directory moved to another
 * parent must be writable itself) or delete the old one, exited 30 and kept its journal, and every later open
 * and command failed "finishing an interrupted restore". Both are now refused before anything is built or moved
 * (the dry run too), and an old directory that --clean-existing cannot delete once the swap is done is left
 * aside with a warning, never a journal that blocks every open. Run as root, the app being `nobody` (setpriv).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { journalPath, type SwapJournal } from '../../../src/store/dir-swap.js';
import { REPO_ROOT } from '../../support/child.js';
import { runAsApp } from '../../support/app-user.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-users-');
const NOBODY = 65534;
const asRoot = process.platform === 'linux' && process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');
if (!asRoot) console.warn('other-users-entries: skipped: it needs root and setpriv (to restore as another user)');

const asApp = runAsApp;

const cli = (...args: string[]) => asApp([process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args]);

/** `code` run as the app (an ES module through tsx); its last stdout line, parsed. */
async function appRuns(code: string): Promise<Record<string, unknown>> {
  const res = await asApp([process.execPath, '--import', 'tsx', '--input-type=module', '-e', code]);
  const last = res.stdout.trim().split('\n').pop();
  if (!last) throw new Error(`no answer: ${res.stderr}`);
  return JSON.parse(last) as Record<string, unknown>;
}

/** The app opens, writes and closes its database: 'opened', or what it threw. */
async function appOpens(dataDir: string): Promise<string> {
  const said = await appRuns(`const { createDB } = await import(${JSON.stringify(path.join(REPO_ROOT, 'src/db.ts'))});
try { const db = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)} } }); await db.set('AFTER', { a: 1 }); await db.close(); console.log(JSON.stringify({ said: 'opened' })); }
catch (e) { console.log(JSON.stringify({ said: String(e?.code) + ' ' + String(e?.message) })); }`);
  return String(said.said);
}

function chownTree(p: string, uid: number): void {
  fs.lchownSync(p, uid, uid);
  if (fs.lstatSync(p).isDirectory()) for (const name of fs.readdirSync(p)) chownTree(path.join(p, name), uid);
}

/** The app's data directory (nobody's, in a parent nobody may write) with one archive. */
async function appDataDir(): Promise<string> {
  const root = await tmp();
  fs.chmodSync(root, 0o755);
  const parent = path.join(root, 'app');
  fs.mkdirSync(parent);
  const dataDir = path.join(parent, 'data');
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 5; i++) await db.set(`K${i}`, { i });
  await db.archive.create();
  await db.close();
  chownTree(parent, NOBODY);
  return dataDir;
}

/** Nothing of a restore beside the directory: no journal, no directory built or moved aside. */
function expectNothingChanged(dataDir: string): void {
  expect(fs.readdirSync(path.dirname(dataDir)).sort()).toEqual(['data']);
}

describe.skipIf(!asRoot)('an in-place restore by a user who cannot move or delete what it replaces', () => {
  it('archives/ made by root: the dry run and the real run both refuse naming it, nothing changes, the app still opens', async () => {
    const dataDir = await appDataDir();
    const archives = path.join(dataDir, 'archives');
    chownTree(archives, 0);
    const dry = await cli('restore', 'latest', '-d', dataDir, '--force', '--dry-run');
    expect(dry.code, dry.stderr).not.toBe(0);
    expect(dry.stderr).toMatch(/IO_ERROR/);
    expect(dry.stderr).toContain(`${archives} cannot be moved into the restored directory`);
    expect(dry.stderr).toMatch(/chown -R nobody/);
    const real = await cli('restore', 'latest', '-d', dataDir, '--force');
    expect(real.code, real.stderr).toBe(dry.code);
    expect(real.stderr).toContain(`${archives} cannot be moved into the restored directory`);
    expect(real.stderr).toContain('nothing was changed');
    expectNothingChanged(dataDir);
    expect(await appOpens(dataDir)).toBe('opened');
  }, 120_000);

  it('--clean-existing with a directory of root in it: refused naming it (dry run too); without --clean-existing it restores', async () => {
    const dataDir = await appDataDir();
    const theirs = path.join(dataDir, 'appstuff');
    fs.mkdirSync(theirs);
    fs.writeFileSync(path.join(theirs, 'f'), 'x');
    const dry = await cli('restore', 'latest', '-d', dataDir, '--force', '--clean-existing', '--dry-run');
    expect(dry.code, dry.stderr).not.toBe(0);
    expect(dry.stderr).toContain(`${theirs} cannot be deleted by this user`);
    expect(dry.stderr).toMatch(/restore without --clean-existing/);
    const real = await cli('restore', 'latest', '-d', dataDir, '--force', '--clean-existing');
    expect(real.code, real.stderr).toBe(dry.code);
    expect(real.stderr).toContain(`${theirs} cannot be deleted by this user`);
    expectNothingChanged(dataDir);
    const kept = await cli('restore', 'latest', '-d', dataDir, '--force');
    expect(kept.code, kept.stderr).toBe(0);
    expect(fs.readdirSync(path.dirname(dataDir)).filter((n) => n.startsWith('data.pre-restore-'))).toHaveLength(1);
    expect(await appOpens(dataDir)).toBe('opened');
  }, 120_000);

  it('a swap whose old directory cannot be deleted afterwards: done, the old directory left aside with a warning, no journal', async () => {
    const root = await tmp();
    fs.chmodSync(root, 0o755);
    const parent = path.join(root, 'app');
    const target = path.join(parent, 'data');
    const newDir = `${target}.restore-x`;
    fs.mkdirSync(path.join(target, 'theirs'), { recursive: true });
    fs.mkdirSync(newDir);
    fs.writeFileSync(path.join(newDir, 'restored'), 'new');
    chownTree(parent, NOBODY);
    // Made by root after the checks (or a root tool meanwhile): the swap meets it.
    fs.chownSync(path.join(target, 'theirs'), 0, 0);
    fs.writeFileSync(path.join(target, 'theirs', 'f'), 'x');
    const journal: SwapJournal = { target, newDir, oldDir: `${target}.pre-restore-x`, phase: 'building', cleanExisting: true, carryOver: [] };
    const said = await appRuns(`const { swapIn } = await import(${JSON.stringify(path.join(REPO_ROOT, 'src/store/dir-swap.ts'))});
try { console.log(JSON.stringify({ warnings: await swapIn(${JSON.stringify(journal)}) })); } catch (e) { console.log(JSON.stringify({ threw: String(e?.code) + ' ' + String(e?.message) })); }`);
    expect(said.threw).toBeUndefined();
    expect(String((said.warnings as string[])[0])).toContain(`the old directory ${journal.oldDir} (--clean-existing) could not be deleted`);
    expect(fs.readFileSync(path.join(target, 'restored'), 'utf8')).toBe('new');
    expect(fs.existsSync(journalPath(target))).toBe(false);
    expect(fs.existsSync(path.join(journal.oldDir!, 'theirs', 'f'))).toBe(true);
  }, 60_000);

  it('a journal left by such a swap (an earlier version): the next open finishes it, the old directory left aside', async () => {
    const dataDir = await appDataDir();
    const oldDir = `${dataDir}.pre-restore-x`;
    fs.mkdirSync(path.join(oldDir, 'theirs'), { recursive: true });
    fs.writeFileSync(path.join(oldDir, 'theirs', 'f'), 'x');
    fs.chownSync(oldDir, NOBODY, NOBODY);
    const journal: SwapJournal = { target: dataDir, newDir: `${dataDir}.restore-x`, oldDir, phase: 'swapping', cleanExisting: true, carryOver: [] };
    fs.writeFileSync(journalPath(dataDir), JSON.stringify(journal));
    fs.chownSync(journalPath(dataDir), NOBODY, NOBODY);
    expect(await appOpens(dataDir)).toBe('opened');
    expect(fs.existsSync(journalPath(dataDir))).toBe(false);
    expect(fs.existsSync(path.join(oldDir, 'theirs', 'f'))).toBe(true);
  }, 60_000);
});
