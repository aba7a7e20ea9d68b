/**
 * "Inside" is decided where the files are, not by how a path is spelled: a
 * local remote's archives/ linked to another disk's folder, and a directory
 * seen at a second path through a bind mount of one of its parents, are the
 * places they lead to for a restore target and a file a command writes, as
 * they are for the configuration check.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

/** Mounts `from` at `at` (bind), or null where this process may not mount (not root, a container without the right). */
function bindMount(from: string, at: string): (() => void) | null {
  try {
    execFileSync('mount', ['--bind', from, at], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return () => execFileSync('umount', [at], { stdio: 'ignore' });
}

describe('a directory seen through a bind mount of its parent', () => {
  const unmounts: Array<() => void> = [];
  afterEach(() => {
    for (const u of unmounts.splice(0)) u();
  });

  it('is inside it all the same: a restore target holding the data directory, a download over snapshot.jss, an archive directory in wal/ are refused; nothing changes', async (ctx) => {
    const r = await tmp();
    const srv = path.join(r, 'srv');
    const mnt = path.join(r, 'mnt');
    const dataDir = path.join(srv, 'app', 'data');
    await fsp.mkdir(mnt);
    await writeKeys(dataDir, 'K', 3);
    const made = await runCli(['archive', 'create', '-q', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    await writeKeys(dataDir, 'NEW', 2);
    const unmount = bindMount(srv, mnt);
    if (unmount === null) return ctx.skip();
    unmounts.push(unmount);
    const snapshot = fs.readFileSync(path.join(dataDir, 'snapshot.jss'));
    const walBefore = fs.readdirSync(path.join(dataDir, 'wal')).sort();
    const id = bris(path.join(dataDir, 'archives'))[0]!.replace(/\.bri$/, '');

    expectRefused(await runCli(['restore', 'latest', '-d', dataDir, '--target', path.join(mnt, 'app'), '--force', '--clean-existing']), /restore target/, /contains the data directory/);
    expectRefused(await runCli(['archive', 'download', id, path.join(mnt, 'app', 'data', 'snapshot.jss'), '-d', dataDir]), /download target/, /data directory/);
    expectRefused(await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', path.join(mnt, 'app', 'data', 'wal')]), /wal belongs to the store/);

    expect(fs.readFileSync(path.join(dataDir, 'snapshot.jss'))).toEqual(snapshot);
    expect(fs.readdirSync(path.join(dataDir, 'wal')).sort()).toEqual(walBefore);
    expect(bris(path.join(dataDir, 'archives'))).toEqual([`${id}.bri`]);
    const db = await createDB({ storeConfig: { dataDir } });
    expect(await db.get('NEW_1')).toEqual({ i: 1 });
    await db.close();
  });
});
