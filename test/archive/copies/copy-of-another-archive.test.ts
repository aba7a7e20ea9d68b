/**
 * A remote copy under one archive's id that holds another archive's bytes (a file copied over it, an
 * object replaced) is no copy of the archive asked for: verify says FAILED "holds archive X, not Y",
 * as it says of a local file, `verify --all` counts it failed, and repair does not call it intact.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-copy-of-another-');

/**
 * Two archives of one size on local + nas; nas's copy of the first is then the second's bytes. Of the
 * recorded size, it is listed as the recorded copy (the listing reads no manifest for it): verify must tell.
 */
/** `keepTimes`: copied as `cp -p` does, the replaced file's modification time set back to what it was. */
async function swappedOnNas(keepTimes = false): Promise<{ dataDir: string; config: string; nas: string; ids: string[]; args: string[] }> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const nas = path.join(root, 'nas');
  await fsp.mkdir(nas);
  const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
  const config = path.join(root, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ remotes }));
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes } } });
  const ids: string[] = [];
  try {
    for (let a = 0; a < 2; a++) {
      for (let i = 0; i < 50; i++) await db.set(`doc${a}_${i}`, { a, i, pad: 'x'.repeat(200 + i) });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  const onNas = (id: string) => path.join(nas, 'archives', `${id}.bri`);
  expect((await fsp.stat(onNas(ids[0]!))).size).toBe((await fsp.stat(onNas(ids[1]!))).size);
  const was = await fsp.stat(onNas(ids[0]!));
  await fsp.copyFile(onNas(ids[1]!), onNas(ids[0]!));
  if (keepTimes) await fsp.utimes(onNas(ids[0]!), was.atime, was.mtime);
  return { dataDir, config, nas, ids, args: ['-d', dataDir, '-c', config] };
}

describe("a remote copy holding another archive's bytes", () => {
  it('is FAILED "holds archive X, not Y" for `archive verify <id> -s nas`, exit 21', async () => {
    const s = await swappedOnNas();
    const v = await runCli(['archive', 'verify', s.ids[0]!, '-s', 'nas', ...s.args]);
    expect(v.stdout).not.toMatch(/^OK/m);
    expect(v.stderr).toContain(`holds archive ${s.ids[1]}, not ${s.ids[0]}`);
    expect(v.code, v.stdout + v.stderr).toBe(21);
  }, 60_000);

  it('is a failed copy of the archive asked for in `archive verify --all -s nas`, never a second OK of the other', async () => {
    const s = await swappedOnNas();
    const v = await runCli(['archive', 'verify', '--all', '-s', 'nas', '--json', ...s.args]);
    const r = JSON.parse(v.stdout) as { ok: boolean; archives: Array<{ archiveId: string; ok: boolean }> };
    expect(r.ok).toBe(false);
    expect(r.archives.filter((a) => a.ok).map((a) => a.archiveId)).toEqual([s.ids[1]]);
    expect(r.archives.find((a) => !a.ok)?.archiveId).toBe(s.ids[0]);
    expect([21, 22]).toContain(v.code);
  }, 60_000);

  it('is FAILED for `archive verify <id>` once the local copy is gone, as the restore refuses it', async () => {
    const s = await swappedOnNas();
    await fsp.rm(path.join(s.dataDir, 'archives', `${s.ids[0]}.bri`));
    const v = await runCli(['archive', 'verify', s.ids[0]!, ...s.args]);
    expect(v.stderr).toContain(`holds archive ${s.ids[1]}`);
    expect(v.code, v.stdout + v.stderr).toBe(21);
  }, 60_000);

  it('is not "intact" for `archive repair <id>`, and nothing is written as its repaired copy', async () => {
    const s = await swappedOnNas();
    await fsp.rm(path.join(s.dataDir, 'archives', `${s.ids[0]}.bri`));
    const r = await runCli(['archive', 'repair', s.ids[0]!, ...s.args]);
    expect(r.stdout).not.toMatch(/intact/);
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    await expect(fsp.access(path.join(s.dataDir, 'archives', 'repaired', `${s.ids[0]}.bri`))).rejects.toThrow();
  }, 60_000);

  // The upload record vouches for the object it confirmed, not for one written there since (6b65f02): the listing
  // took the local manifest for the copy on the record's word.
  it.each([false, true])('is not "upload confirmed here" for `archive get`, which names the archive it holds (modification time kept: %s)', async (keepTimes) => {
    const { ids, args } = await swappedOnNas(keepTimes);
    const fromNas = await runCli(['archive', 'get', ids[0]!, '-s', 'nas', ...args]);
    expect(fromNas.stdout).not.toMatch(/upload confirmed here/);
    expect(fromNas.stderr).toContain(`holds archive ${ids[1]}`);
    const anywhere = await runCli(['archive', 'get', ids[0]!, ...args]);
    expect(anywhere.code, anywhere.stderr).toBe(0);
    expect(anywhere.stdout).toMatch(/copy {8}local:/);
    expect(anywhere.stdout).not.toMatch(/copy {8}nas:.*upload confirmed here/);
    // The other archive's own copy stays confirmed: nothing was written over it.
    expect((await runCli(['archive', 'get', ids[1]!, '-s', 'nas', ...args])).stdout).toMatch(/copy {8}nas:.*upload confirmed here/);
  }, 60_000);
});
