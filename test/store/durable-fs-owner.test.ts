/**
 * What the durable writes leave a file's owner and mode: a file written over another keeps that one's
 * mode and (as root) owner and group; a new file or directory made as root takes the owner of the
 * directory it goes into. Root's commands on an application's directory left root-owned files the
 * application could no longer open.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirs, writeFileDurable } from '../../src/store/durable-fs.js';
import { APP_GID, APP_UID, NEEDS_ROOT, chownTree, isRoot, ownerOf } from '../support/app-user.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-durable-owner-');

describe('writeFileDurable keeps what the replaced file had', () => {
  it('a 0600 file rewritten stays 0600 (it came back 0644, readable by every user)', async () => {
    const file = path.join(await tmp(), 'private.json');
    fs.writeFileSync(file, 'old', { mode: 0o600 });
    await writeFileDurable(file, 'new');
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(ownerOf(file).mode).toBe(0o600);
  });

  it.skipIf(!isRoot)(`as root, a file of another user rewritten keeps its owner, group and mode${NEEDS_ROOT}`, async () => {
    const dir = await tmp();
    const file = path.join(dir, 'snapshot.jss');
    fs.writeFileSync(file, 'old', { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    fs.chownSync(file, APP_UID, APP_GID);
    await writeFileDurable(file, 'new');
    expect(ownerOf(file)).toEqual({ uid: APP_UID, gid: APP_GID, mode: 0o640 });
  });
});

describe.skipIf(!isRoot)(`as root, what is made takes the owner of the directory it goes into${NEEDS_ROOT}`, () => {
  it('a new file in the application\'s directory is the application\'s', async () => {
    const dir = path.join(await tmp(), 'app');
    fs.mkdirSync(dir);
    chownTree(dir);
    await writeFileDurable(path.join(dir, 'bri-archive.json'), '{}');
    expect(ownerOf(path.join(dir, 'bri-archive.json'))).toMatchObject({ uid: APP_UID, gid: APP_GID });
  });

  it('directories made under the application\'s directory are the application\'s, each of them', async () => {
    const dir = path.join(await tmp(), 'app');
    fs.mkdirSync(dir);
    chownTree(dir);
    await makeDirs(path.join(dir, 'archives', '.tmp'));
    expect(ownerOf(path.join(dir, 'archives'))).toMatchObject({ uid: APP_UID, gid: APP_GID });
    expect(ownerOf(path.join(dir, 'archives', '.tmp'))).toMatchObject({ uid: APP_UID, gid: APP_GID });
  });

  it('a directory that was there keeps its owner', async () => {
    const dir = path.join(await tmp(), 'app');
    fs.mkdirSync(path.join(dir, 'archives'), { recursive: true });
    chownTree(dir);
    fs.chownSync(path.join(dir, 'archives'), 0, 0);
    await makeDirs(path.join(dir, 'archives', '.seeds'));
    expect(ownerOf(path.join(dir, 'archives')).uid).toBe(0);
    expect(ownerOf(path.join(dir, 'archives', '.seeds')).uid).toBe(0);
  });
});
