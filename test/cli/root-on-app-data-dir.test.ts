/**
 * Root's commands on an application's stopped data directory (a cron job, an operator) leave every file
 * they make or rewrite the application's: root's `archive create` after a crash sealed the WAL with a
 * root-owned segment, made archives/ and archives/.tmp root's, and `cleanup-wal` under umask 077 rewrote
 * snapshot.jss root's 0600; the application then could not open its database (a raw EACCES) or archive it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_GID, APP_UID, NEEDS_ROOT, appCli, appWrites, isRoot, notOwnedBy, openToApp, ownerOf, rootCli } from '../support/app-user.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-root-on-app-');

/** A data directory the application made (as its own user) and wrote `writes` documents into. */
async function appDataDir(writes: number, crash = false): Promise<string> {
  const parent = await tmp();
  openToApp(parent);
  fs.chownSync(parent, APP_UID, APP_GID);
  const dataDir = path.join(parent, 'data');
  const made = await appWrites(dataDir, writes, crash);
  if (!crash) expect(made.stdout.trim(), made.stderr).toBe('ok');
  return dataDir;
}

describe.skipIf(!isRoot)(`root's commands leave the application's data directory its own${NEEDS_ROOT}`, () => {
  it('archive create after a crash: the segment the seal starts, archives/ and archives/.tmp are the app\'s; the app opens, writes and archives', async () => {
    const dataDir = await appDataDir(3, true);
    const made = await rootCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(made.code, made.stderr).toBe(0);
    expect(fs.readdirSync(path.join(dataDir, 'wal')).length).toBeGreaterThan(1);
    expect(notOwnedBy(dataDir)).toEqual([]);
    const opened = await appWrites(dataDir, 2);
    expect(opened.stdout.trim(), opened.stderr).toBe('ok');
    const again = await appCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);

  it('restore keys: the segment its writes start and the snapshot are the app\'s; the app opens and writes', async () => {
    const dataDir = await appDataDir(3);
    expect((await appCli(['archive', 'create', '-d', dataDir, '-q'])).code).toBe(0);
    const at = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    expect((await appWrites(dataDir, 2)).stdout.trim()).toBe('ok');
    const rolled = await rootCli(['restore', 'keys', '--prefix', 'K', '--at', at, '-d', dataDir, '-q']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(notOwnedBy(dataDir)).toEqual([]);
    const opened = await appWrites(dataDir, 1);
    expect(opened.stdout.trim(), opened.stderr).toBe('ok');
  }, 120_000);

  it('cleanup-wal under umask 077: snapshot.jss keeps the app\'s owner and mode 0644; the app opens and writes', async () => {
    const dataDir = await appDataDir(3);
    expect((await appCli(['archive', 'create', '-d', dataDir, '-q'])).code).toBe(0);
    expect((await appWrites(dataDir, 3)).stdout.trim()).toBe('ok');
    expect((await appCli(['archive', 'create', '-d', dataDir, '-q'])).code).toBe(0);
    expect((await appWrites(dataDir, 2)).stdout.trim()).toBe('ok');
    const before = ownerOf(path.join(dataDir, 'snapshot.jss'));
    const cleaned = await rootCli(['archive', 'cleanup-wal', '-d', dataDir, '-q'], '077');
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(ownerOf(path.join(dataDir, 'snapshot.jss'))).toEqual({ uid: APP_UID, gid: APP_GID, mode: before.mode });
    expect(notOwnedBy(dataDir)).toEqual([]);
    const opened = await appWrites(dataDir, 1);
    expect(opened.stdout.trim(), opened.stderr).toBe('ok');
  }, 120_000);
});
