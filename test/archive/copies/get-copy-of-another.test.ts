/**
 * `archive get` of an archive whose remote copy was replaced by another archive's bytes of the same size: the
 * upload record vouches for the object it confirmed, not for one written there since, so the copy is never
 * shown as "upload confirmed here" (the listing took the local manifest for it on the record's word).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-get-copy-of-another-');

describe("archive get of a remote copy holding another archive's bytes", () => {
  it('does not say "upload confirmed here" of it, and names the archive it holds', async () => {
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
    await fsp.copyFile(onNas(ids[1]!), onNas(ids[0]!));
    const args = ['-d', dataDir, '-c', config];

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
