/**
 * Listings read every file directly in the archive directory as the archive its name says. A whole copy bri
 * wrote there under another name (`download <id> archives/monday.bri`, `repair x.bri --out archives/`, which
 * kept the input's name) was then called unreadable by list, verify --all (exit 22) and stats (exit 1).
 * Such an output is refused up front (USAGE, with a hint that leads somewhere right), and repair --out into a
 * directory names the copy <archiveId>.bri as download does. Real CLI on a real archive directory.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-out-archive-dir-');

async function archived(): Promise<{ root: string; dataDir: string; archives: string; id: string }> {
  const root = await tmp();
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  for (let i = 0; i < 40; i++) await db.set(`k${i}`, { i, text: 'x'.repeat(200) });
  await db.close();
  const made = await runCli(['archive', 'create', '-d', dataDir, '--quiet']);
  expect(made.code, made.stderr).toBe(0);
  const archives = path.join(dataDir, 'archives');
  const file = (await fsp.readdir(archives)).find((f) => f.endsWith('.bri'));
  return { root, dataDir, archives, id: path.basename(file!, '.bri') };
}

/** Where the member after manifest.jss (the first tar member) starts its data: damage there leaves the manifest readable. */
async function pastManifest(file: string): Promise<number> {
  const header = (await fsp.readFile(file)).subarray(0, 512);
  const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim(), 8);
  return 512 + Math.ceil(size / 512) * 512 + 512 + 16;
}

async function damage(file: string, at: number): Promise<void> {
  const h = await fsp.open(file, 'r+');
  await h.write(Buffer.alloc(8, 0xff), 0, 8, at);
  await h.close();
}

async function listingsAgree(dataDir: string): Promise<void> {
  const all = await runCli(['archive', 'verify', '--all', '-d', dataDir]);
  expect(all.code, all.stdout + all.stderr).toBe(0);
  const stats = await runCli(['archive', 'stats', '-d', dataDir]);
  expect(stats.code, stats.stdout + stats.stderr).toBe(0);
  const list = await runCli(['archive', 'list', '-d', dataDir]);
  expect(list.stdout + list.stderr).not.toContain('unreadable');
}

describe('a file written directly into the archive directory is <archiveId>.bri or nothing', () => {
  it('download under another name there is refused with a hint naming <id>.bri; the hint followed works', async () => {
    const { dataDir, archives, id } = await archived();
    const r = await runCli(['archive', 'download', id, path.join(archives, 'monday.bri'), '-d', dataDir]);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stderr).toContain(`in the archive directory under another name than ${id}.bri`);
    expect(r.stderr).not.toContain('a new name');
    expect(r.stderr).toContain(`${id}.bri`);
    await expect(fsp.access(path.join(archives, 'monday.bri'))).rejects.toThrow();
    // Not a .bri name either: anything there is read as an archive, or clutters it.
    const txt = await runCli(['archive', 'download', id, path.join(archives, 'monday.txt'), '-d', dataDir]);
    expect(txt.code).toBe(2);
    const own = await runCli(['archive', 'download', id, archives, '-d', dataDir]);
    expect(own.code, own.stderr).toBe(0);
    await listingsAgree(dataDir);
  }, 300_000);

  it('repair --out <archive dir>/ writes <id>.bri, not the input name; another name there is refused', async () => {
    const { root, dataDir, archives, id } = await archived();
    const usb = path.join(root, 'usb-copy.bri');
    await fsp.rename(path.join(archives, `${id}.bri`), usb);
    await damage(usb, await pastManifest(usb));
    const named = await runCli(['archive', 'repair', usb, '--out', path.join(archives, 'usb-copy.bri'), '-d', dataDir]);
    expect(named.code, named.stdout).toBe(2);
    expect(named.stderr).toContain(`under another name than ${id}.bri`);
    const r = await runCli(['archive', 'repair', usb, '--out', archives + '/', '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fsp.readdir(archives)).filter((f) => f.endsWith('.bri'))).toEqual([`${id}.bri`]);
    await listingsAgree(dataDir);
  }, 300_000);

  it('repair --out into the archive directory of a file whose manifest does not read and whose name is no id: refused, saying what to do', async () => {
    const { root, dataDir, archives, id } = await archived();
    const usb = path.join(root, 'usb-copy.bri');
    await fsp.copyFile(path.join(archives, `${id}.bri`), usb);
    await damage(usb, 600);
    const r = await runCli(['archive', 'repair', usb, '--out', archives, '-d', dataDir]);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stderr).toContain('its manifest cannot be read to tell which');
    expect(r.stderr).toContain('repaired/');
    expect((await fsp.readdir(archives)).filter((f) => f.endsWith('.bri'))).toEqual([`${id}.bri`]);
  }, 300_000);
});
