/**
 * `bri archive verify <id> -s <remote>` verifies the remote copy through a scratch download of its own;
 * what it says of the copy names the copy's place on the remote, never that download
 * (.bri-scratch....download-<id>-from-<remote>), which is gone when the user looks.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-verify-remote-names-');

describe('archive verify of a damaged remote copy', () => {
  it('names the copy on the remote in every problem, not the scratch download it read', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const nas = path.join(root, 'nas');
    const cfg = path.join(root, 'cfg.json');
    await fsp.mkdir(nas);
    await fsp.writeFile(cfg, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    for (let i = 0; i < 20; i++) await db.set(`k${i}`, { i, text: 'x'.repeat(200) });
    await db.close();
    const made = await runCli(['archive', 'create', '-d', dataDir, '-c', cfg, '--quiet']);
    expect(made.code, made.stderr).toBe(0);
    const name = (await fsp.readdir(path.join(nas, 'archives'))).find((f) => f.endsWith('.bri'))!;
    const copy = path.join(nas, 'archives', name);
    const bytes = await fsp.readFile(copy);
    // Cut short after its manifest: listed by its id, and its read fails naming the file read.
    await fsp.writeFile(copy, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = await runCli(['archive', 'verify', path.basename(name, '.bri'), '-s', 'nas', '-d', dataDir, '-c', cfg]);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(`FAILED ${copy}`);
    expect(r.stderr).toContain(`${copy} is not a readable tar archive`);
    expect(r.stderr).not.toContain('.bri-scratch');
  });
});
