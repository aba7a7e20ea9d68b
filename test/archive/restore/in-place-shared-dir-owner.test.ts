/**
 * An in-place restore run as root of a group-shared directory (root:app 2775, the files the application's)
 * gives each restored file the owner of the file it replaces: every file came back root's (the owner was
 * taken from the directory), and the application could no longer open its database.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_GID, APP_UID, NEEDS_ROOT, appCli, appWrites, isRoot, openToApp, ownerOf, rootCli } from '../../support/app-user.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-shared-');

describe.skipIf(!isRoot)(`an in-place restore as root of a group-shared directory${NEEDS_ROOT}`, () => {
  it('keeps the directory root:app 2775 and every file the app\'s; the app opens, writes and archives', async () => {
    const parent = await tmp();
    openToApp(parent);
    const dataDir = path.join(parent, 'data');
    fs.mkdirSync(dataDir);
    fs.chownSync(dataDir, 0, APP_GID);
    fs.chmodSync(dataDir, 0o2775);
    expect((await appWrites(dataDir, 5)).stdout.trim()).toBe('ok');
    expect((await appCli(['archive', 'create', '-d', dataDir, '-q'])).code).toBe(0);
    expect((await appWrites(dataDir, 2)).stdout.trim()).toBe('ok');
    const restored = await rootCli(['restore', 'latest', '-d', dataDir, '--force', '-q']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(ownerOf(dataDir)).toEqual({ uid: 0, gid: APP_GID, mode: 0o2775 });
    const files = [path.join(dataDir, 'snapshot.jss'), ...fs.readdirSync(path.join(dataDir, 'wal')).map((n) => path.join(dataDir, 'wal', n))];
    for (const f of files) expect({ file: path.relative(dataDir, f), ...ownerOf(f) }).toMatchObject({ uid: APP_UID, gid: APP_GID });
    expect(ownerOf(path.join(dataDir, 'wal'))).toMatchObject({ uid: APP_UID, gid: APP_GID });
    const opened = await appWrites(dataDir, 1);
    expect(opened.stdout.trim(), opened.stderr).toBe('ok');
    const archived = await appCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(archived.code, archived.stderr).toBe(0);
  }, 120_000);
});
