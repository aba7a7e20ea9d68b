/**
 * `bri archive stats` answers for this database: on a remote shared with another database (or a clone's
 * origin) it counted the other's archives and reported the other's newest moment as this one's (a freshness
 * check passed while this database archived nothing); after a rollback in place its line range was the
 * abandoned timeline's. Lines are first..last, both inclusive, as `data stats` and the manifests count them.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-stats-scope-');

async function archiveLines(dataDir: string, archive: object, keys: string[]): Promise<string> {
  const db = await createDB({ storeConfig: { dataDir, archive } });
  try {
    for (const k of keys) await db.set(k, { k });
    return (await db.archive.create()).archiveId;
  } finally {
    await db.close();
  }
}

interface StatsJson {
  archives: number;
  firstLine: number | null;
  lastLine: number | null;
  newest: string | null;
  instance: string | null;
  otherDatabases: { archives: number; instances: string[] };
}

const stats = async (dataDir: string, cfg: string): Promise<StatsJson> => {
  const res = await runCli(['archive', 'stats', '-d', dataDir, '-c', cfg, '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as StatsJson;
};

describe('archive stats', () => {
  it('counts this database only on a shared remote, and names the others apart; its newest moment is its own', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { compression: { level: 1 }, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }] };
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));
    const one = path.join(r, 'one');
    const two = path.join(r, 'two');
    await archiveLines(one, archive, ['A', 'B']);
    await archiveLines(two, archive, ['X']);
    await archiveLines(two, archive, ['Y', 'Z']);
    const s1 = await stats(one, cfg);
    expect(s1).toMatchObject({ archives: 1, firstLine: 1, lastLine: 2, otherDatabases: { archives: 2 } });
    expect(s1.otherDatabases.instances).toHaveLength(1);
    const s2 = await stats(two, cfg);
    expect(s2).toMatchObject({ archives: 2, firstLine: 1, lastLine: 3, otherDatabases: { archives: 1 } });
    expect(new Date(s2.newest!).getTime()).toBeGreaterThan(new Date(s1.newest!).getTime());
    const text = await runCli(['archive', 'stats', '-d', one, '-c', cfg]);
    expect(text.stdout).toMatch(/lines {7}1\.\.2 \(2 in all\)/);
    expect(text.stdout).toMatch(/others {6}2 archives of other databases/);
  });

  it('after a rollback in place, gives the current instance\'s range, not the abandoned timeline\'s', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const archive = { compression: { level: 1 } };
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));
    await archiveLines(dataDir, archive, ['A', 'B']);
    const moment = new Date().toISOString();
    await new Promise((res) => setTimeout(res, 20));
    await archiveLines(dataDir, archive, ['BAD1', 'BAD2', 'BAD3', 'BAD4']);
    const back = await runCli(['restore', 'to-timestamp', moment, '-d', dataDir, '--force']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    await archiveLines(dataDir, archive, ['C']);
    const s = await stats(dataDir, cfg);
    expect(s.archives).toBe(3);
    expect(s.lastLine).toBe(3);
    expect(s.instance).not.toBeNull();
  });
});
