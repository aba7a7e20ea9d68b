/**
 * `~` reaches bri unexpanded from a JSON config (never seen by a shell), a systemd Environment= line,
 * `--archive-dir=~/x` or a quoted '~/x': it is the home directory, never a directory literally named `~`
 * (made beside the config file, or in the working directory). `~name` is refused, named.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-tilde-');
// Without the expansion, a restore made `~/restored` in the CLI's working directory (the repository): removed after.
const strayTilde = path.join(REPO_ROOT, '~');
const strayBefore = fs.existsSync(strayTilde);
afterAll(async () => {
  if (!strayBefore) await fsp.rm(strayTilde, { recursive: true, force: true });
});

/** A home directory holding a database at ~/db. */
async function home(): Promise<string> {
  const h = await tmp();
  const db = await createDB({ storeConfig: { dataDir: path.join(h, 'db') } });
  await db.set('K', { v: 1 });
  await db.close();
  return h;
}

describe('~ in paths bri reads unexpanded', () => {
  it('"localDir": "~/bri-archives" in a --config file is under the home directory, not beside the file', async () => {
    const h = await home();
    const etc = await tmp();
    await fsp.writeFile(path.join(etc, 'bri.json'), JSON.stringify({ localDir: '~/bri-archives' }));
    const created = await runCli(['archive', 'create', '-d', path.join(h, 'db'), '-c', path.join(etc, 'bri.json'), '-q'], { HOME: h });
    expect(created.code, created.stderr).toBe(0);
    expect(fs.readdirSync(path.join(h, 'bri-archives')).filter((n) => n.endsWith('.bri'))).toHaveLength(1);
    expect(fs.readdirSync(etc)).toEqual(['bri.json']);
  });

  it("-d '~/db', --archive-dir=~/a, --target=~/restored and BRI_DATA_DIR='~/db' are under the home directory", async () => {
    const h = await home();
    const stats = await runCli(['data', 'stats', '-d', '~/db'], { HOME: h });
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toContain(`data directory  ${path.join(h, 'db')}`);
    const created = await runCli(['archive', 'create', '--data-dir=~/db', '--archive-dir=~/a', '-q'], { HOME: h });
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCli(['archive', 'list', '--archive-dir=~/a', '--json'], { HOME: h, BRI_DATA_DIR: '~/db' });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).archives).toHaveLength(1);
    const restored = await runCli(['restore', 'latest', '-d', '~/db', '-a', '~/a', '--target=~/restored', '-q'], { HOME: h });
    expect(restored.code, restored.stderr).toBe(0);
    expect(fs.existsSync(path.join(h, 'restored', 'wal'))).toBe(true);
    expect(fs.existsSync(strayTilde)).toBe(strayBefore);
  });

  it('~name (another user\'s home) is refused, naming the option or the config key', async () => {
    const h = await home();
    const cli = await runCli(['restore', 'latest', '-d', path.join(h, 'db'), '--target=~nobody/x'], { HOME: h });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--target "~nobody/x"');
    await fsp.writeFile(path.join(h, 'bri.json'), JSON.stringify({ localDir: '~nobody/arch' }));
    const conf = await runCli(['archive', 'list', '-d', path.join(h, 'db'), '-c', path.join(h, 'bri.json')], { HOME: h });
    expect(conf.stderr).toContain('CONFIG_INVALID');
    expect(conf.stderr).toContain('archive.localDir');
    expect(fs.existsSync(path.join(h, '~nobody'))).toBe(false);
  });
});
