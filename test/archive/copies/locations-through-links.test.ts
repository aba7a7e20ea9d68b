/**
 * "Inside" is decided where the files are, not by how a path is spelled: a
 * local remote's archives/ linked to another disk's folder is the place it
 * leads to for a restore target and a file a command writes, as it is for the
 * configuration check.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-locations-links-');

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

function expectRefused(res: { code: number | null; stderr: string }, ...words: RegExp[]): void {
  expect(res.code, res.stderr).toBe(2);
  expect(res.stderr).toMatch(/USAGE|CONFIG_INVALID/);
  for (const w of words) expect(res.stderr).toMatch(w);
}

const bris = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort();

describe("a local remote's archives/ that is a link", () => {
  it("a restore into where the link leads, and a download over the remote's copy through the link, are refused; the remote's copies stay", async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const usb = path.join(r, 'usb', 'archives');
    await fsp.mkdir(path.join(r, 'nas'), { recursive: true });
    await fsp.mkdir(usb, { recursive: true });
    await fsp.symlink(usb, path.join(r, 'nas', 'archives'));
    const config = path.join(r, 'c.json');
    await fsp.writeFile(config, JSON.stringify({ remote: { provider: 'local', name: 'nas', path: path.join(r, 'nas') } }));
    for (const round of ['K', 'L']) {
      await writeKeys(dataDir, round, 3);
      const made = await runCli(['archive', 'create', '-q', '-d', dataDir, '-c', config]);
      expect(made.code, made.stderr).toBe(0);
    }
    const copies = bris(usb);
    expect(copies).toHaveLength(2);
    const sizes = copies.map((f) => fs.statSync(path.join(usb, f)).size);

    expectRefused(await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', path.dirname(usb), '--clean-existing', '--force', '-q']), /restore target/, /remote 'nas'/);
    expectRefused(await runCli(['archive', 'download', copies[1]!.replace(/\.bri$/, ''), path.join(r, 'nas', 'archives', copies[0]!), '-d', dataDir, '-c', config]), /download target/, /remote 'nas'/);

    expect(bris(usb)).toEqual(copies);
    expect(copies.map((f) => fs.statSync(path.join(usb, f)).size)).toEqual(sizes);
  });
});
