/**
 * `archive rekey` and `archive repair --in-place` run as root replace an archive with one that keeps the
 * replaced file's owner, group and mode (and the seeds theirs): under umask 027 the application's archive
 * came back root:root 0640, and the application could no longer verify or restore its own archives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ageKeyFile } from '../../support/age-keys.js';
import { APP_GID, APP_UID, NEEDS_ROOT, appCli, appWrites, chownTree, isRoot, notOwnedBy, openToApp, ownerOf, rootCli } from '../../support/app-user.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-rekey-owner-');

/** A directory of the application's, reachable by it, holding its data directory `data`. */
async function appParent(): Promise<string> {
  const parent = await tmp();
  openToApp(parent);
  fs.chownSync(parent, APP_UID, APP_GID);
  return parent;
}

const archivesOf = (dataDir: string) => fs.readdirSync(path.join(dataDir, 'archives')).filter((n) => n.endsWith('.bri')).map((n) => path.join(dataDir, 'archives', n));

describe.skipIf(!isRoot)(`root replacing the application's archives keeps them the application's${NEEDS_ROOT}`, () => {
  it('rekey under umask 027: the archive and the seeds keep nobody:nogroup 0640; the app verifies with the new key', async () => {
    const parent = await appParent();
    const dataDir = path.join(parent, 'data');
    const [k1, k2] = [await ageKeyFile(parent, 'k1'), await ageKeyFile(parent, 'k2')];
    chownTree(k2.file);
    const config = path.join(parent, 'enc.json');
    fs.writeFileSync(config, JSON.stringify({ archive: { encryption: { recipients: [k1.recipient] } } }));
    fs.chmodSync(config, 0o644);
    expect((await appWrites(dataDir, 4)).stdout.trim()).toBe('ok');
    for (const p of [dataDir, ...fs.readdirSync(dataDir).map((n) => path.join(dataDir, n))]) fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o750 : 0o640);
    const made = await appCli(['archive', 'create', '-d', dataDir, '-c', config, '-q']);
    expect(made.code, made.stderr).toBe(0);
    const [archive] = archivesOf(dataDir);
    fs.chmodSync(archive!, 0o640);
    const rekeyed = await rootCli(['archive', 'rekey', '-d', dataDir, '-c', config, '-i', k1.file, '--recipient', k2.recipient, '-q'], '027');
    expect(rekeyed.code, rekeyed.stderr).toBe(0);
    expect(ownerOf(archive!)).toEqual({ uid: APP_UID, gid: APP_GID, mode: 0o640 });
    expect(notOwnedBy(path.join(dataDir, 'archives'))).toEqual([]);
    const verified = await appCli(['archive', 'verify', '--all', '-d', dataDir, '-i', k2.file, '-q']);
    expect(verified.code, verified.stderr).toBe(0);
  }, 120_000);

  it('repair --in-place under umask 027: the repaired archive keeps nobody:nogroup and its mode; the app verifies it', async () => {
    const dataDir = path.join(await appParent(), 'data');
    expect((await appWrites(dataDir, 30)).stdout.trim()).toBe('ok');
    expect((await appCli(['archive', 'create', '-d', dataDir, '-q'])).code).toBe(0);
    const [archive] = archivesOf(dataDir);
    const fd = fs.openSync(archive!, 'r+');
    fs.writeSync(fd, Buffer.from('X'), 0, 1, 1200);
    fs.closeSync(fd);
    const before = ownerOf(archive!);
    const repaired = await rootCli(['archive', 'repair', path.basename(archive!, '.bri'), '-d', dataDir, '--in-place', '-q'], '027');
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(ownerOf(archive!)).toEqual(before);
    expect(before.uid).toBe(APP_UID);
    const verified = await appCli(['archive', 'verify', '--all', '-d', dataDir, '-q']);
    expect(verified.code, verified.stderr).toBe(0);
  }, 120_000);
});
