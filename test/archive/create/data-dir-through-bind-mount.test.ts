/**
 * One data directory reached at a second path through a bind mount (a container's /data, a cron job's /srv
 * path) is that directory, not a copy of it: its recorded archive directory is its own there too, so a listing
 * finds its archives and a create never starts a second chain of its instance beside them.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-bind-data-dir-');

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

/** Mounts `from` at `at` (bind), or null where this process may not mount (not root, a container without the right). */
function bindMount(from: string, at: string): (() => void) | null {
  try {
    execFileSync('mount', ['--bind', from, at], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return () => execFileSync('umount', [at], { stdio: 'ignore' });
}

const stateOf = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { archiveDir: string; archivedFrom: string };

describe('a data directory reached through a bind mount', () => {
  const unmounts: Array<() => void> = [];
  afterEach(() => {
    for (const u of unmounts.splice(0)) u();
  });

  it('lists the archives of its recorded archive directory, and a create there starts no second chain nor re-points bri-archive.json', async (ctx) => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const archiveDir = path.join(r, 'arch');
    const bind = path.join(r, 'bind');
    await fsp.mkdir(bind);
    await writeKeys(dataDir, 'K', 3);
    const made = await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', archiveDir]);
    expect(made.code, made.stderr).toBe(0);
    const recorded = stateOf(dataDir);
    const unmount = bindMount(dataDir, bind);
    if (unmount === null) return ctx.skip();
    unmounts.push(unmount);
    await writeKeys(dataDir, 'L', 2);

    const list = await runCli(['archive', 'list', '-d', bind, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { archives: unknown[] }).archives).toHaveLength(1);

    // Without -a it archives where bri-archive.json says, the owner file's directory being this one at another path.
    const again = await runCli(['archive', 'create', '-q', '-d', bind]);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readdirSync(archiveDir).filter((f) => f.endsWith('.bri'))).toHaveLength(2);
    const elsewhere = await runCli(['archive', 'create', '-q', '-d', bind, '-a', path.join(bind, 'archives')]);
    expect(elsewhere.code, elsewhere.stderr).toBe(2);
    expect(elsewhere.stderr).toMatch(/archives are made in .*arch.*second chain/);
    expect(fs.existsSync(path.join(dataDir, 'archives')) && fs.readdirSync(path.join(dataDir, 'archives')).some((f) => f.endsWith('.bri'))).toBe(false);
    expect(stateOf(dataDir)).toMatchObject({ archiveDir: recorded.archiveDir, archivedFrom: recorded.archivedFrom });
  });
});
