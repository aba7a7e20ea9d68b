/**
 * An archive directory holds one database's archives (bri-archive-dir.json names its data directory). The create
 * refused another data directory given it with -a, but rekey, upload and delete acted on its archives for the
 * data directory -d (rewrapped for its key, uploaded to its remotes, judged by its WAL), and stats counted them
 * as -d's. Each now refuses with the create's USAGE naming the owner, and stats counts them as another database's.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { ageKeyFile, NO_AGE_ENV } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-another-archive-dir-');

async function writeKeys(dataDir: string, prefix: string, n: number, archive: object = {}): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, archive } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

const bris = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort() : []);

/**
 * A (archived once into an archive directory of its own beside it, A-archives) and B (never archived), side by
 * side in `r`. (An archive directory inside another database's data directory is refused by the locations' check.)
 */
async function twoDatabases(r: string, archive: object = {}, cfg?: string): Promise<{ a: string; b: string; aArchives: string; id: string }> {
  const [a, b, aArchives] = [path.join(r, 'A'), path.join(r, 'B'), path.join(r, 'A-archives')];
  await writeKeys(a, 'A', 5, archive);
  const made = await runCli(['archive', 'create', '-q', '-d', a, '-a', aArchives, ...(cfg ? ['-c', cfg] : [])], NO_AGE_ENV);
  expect(made.code, made.stderr).toBe(0);
  await writeKeys(b, 'B', 5, archive);
  return { a, b, aArchives, id: bris(aArchives)[0]!.replace(/\.bri$/, '') };
}

/** The refusal the create gives: USAGE, naming the owner of the directory. */
function expectRefusedForOwner(res: { code: number | null; stderr: string }, owner: string): void {
  expect(res.code, res.stderr).toBe(2);
  expect(res.stderr).toMatch(/USAGE/);
  expect(res.stderr).toContain(`holds the archives of the data directory ${fs.realpathSync(owner)}`);
}

describe("commands run for one data directory (-d) on another data directory's archive directory (-a)", () => {
  it("rekey is refused as the create is, and the owner's archives still open with its key", async () => {
    const r = await tmp();
    const [k1, k2] = [await ageKeyFile(r, 'k1'), await ageKeyFile(r, 'k2')];
    const cfg = path.join(r, 'enc.json');
    await fsp.writeFile(cfg, JSON.stringify({ encryption: { recipients: [k1.recipient] } }));
    const { a, b, aArchives } = await twoDatabases(r, {}, cfg);
    const rekey = await runCli(['archive', 'rekey', '-d', b, '-a', aArchives, '--recipient', k2.recipient, '-i', k1.file], NO_AGE_ENV);
    expectRefusedForOwner(rekey, a);
    expect(rekey.stderr).toContain(`bri archive rekey -d ${fs.realpathSync(a)}`);
    const verify = await runCli(['archive', 'verify', '--all', '-d', a, '-a', aArchives, '-i', k1.file], NO_AGE_ENV);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // The owner's own rekey still runs.
    const own = await runCli(['archive', 'rekey', '-d', a, '-a', aArchives, '--recipient', k2.recipient, '-i', k1.file], NO_AGE_ENV);
    expect(own.code, own.stderr).toBe(0);
  });

  it("upload is refused as the create is, and nothing reaches -d's remote; the owner's upload still runs", async () => {
    const r = await tmp();
    const { a, b, aArchives } = await twoDatabases(r);
    const nas = path.join(r, 'nasB');
    await fsp.mkdir(nas);
    const cfg = path.join(r, 'b.json');
    await fsp.writeFile(cfg, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const up = await runCli(['archive', 'upload', '-d', b, '-a', aArchives, '-c', cfg]);
    expectRefusedForOwner(up, a);
    expect(await fsp.readdir(nas)).toEqual([]);
    const own = await runCli(['archive', 'upload', '-d', a, '-a', aArchives, '-c', cfg]);
    expect(own.code, own.stderr).toBe(0);
  });

  it("delete (even with --force) is refused as the create is, and the owner's only copy stays", async () => {
    const r = await tmp();
    const { a, b, aArchives, id } = await twoDatabases(r);
    for (const force of [[], ['--force']]) {
      const del = await runCli(['archive', 'delete', id, '-d', b, '-a', aArchives, ...force]);
      expectRefusedForOwner(del, a);
      expect(del.stderr).not.toContain('no longer in');
    }
    expect(bris(aArchives)).toEqual([`${id}.bri`]);
  });
});
