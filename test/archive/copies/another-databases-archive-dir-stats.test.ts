/**
 * `bri archive stats -d A -a <B's archive directory>` counted B's archives as A's (its instance, its newest
 * moment: a freshness check passed for a database that never archived). An archive directory another data
 * directory owns (bri-archive-dir.json) holds another database's archives: counted apart, as a shared remote's are.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-another-archive-dir-stats-');

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

const bris = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort() : []);

/**
 * A (archived once into an archive directory of its own beside it, A-archives) and B (never archived), side by
 * side in `r`. (An archive directory inside another database's data directory is refused by the locations' check.)
 */
async function twoDatabases(r: string): Promise<{ b: string; aArchives: string }> {
  const [a, b, aArchives] = [path.join(r, 'A'), path.join(r, 'B'), path.join(r, 'A-archives')];
  await writeKeys(a, 'A', 5);
  const made = await runCli(['archive', 'create', '-q', '-d', a, '-a', aArchives]);
  expect(made.code, made.stderr).toBe(0);
  await writeKeys(b, 'B', 5);
  expect(bris(aArchives)).toHaveLength(1);
  return { b, aArchives };
}

describe("archive stats for one data directory (-d) on another data directory's archive directory (-a)", () => {
  it("stats counts the directory's archives as another database's, not as -d's", async () => {
    const r = await tmp();
    const { b, aArchives } = await twoDatabases(r);
    const res = await runCli(['archive', 'stats', '-d', b, '-a', aArchives, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout) as { archives: number; instance: string | null; newest: string | null; otherDatabases: { archives: number; instances: string[] } };
    expect(s.archives).toBe(0);
    expect(s.instance).toBeNull();
    expect(s.newest).toBeNull();
    expect(s.otherDatabases.archives).toBe(1);
    expect(s.otherDatabases.instances).toHaveLength(1);
  });

  it("stats of a data directory that archived elsewhere counts its own archives there only, the directory's as another database's", async () => {
    const r = await tmp();
    const { b, aArchives } = await twoDatabases(r);
    const made = await runCli(['archive', 'create', '-q', '-d', b]);
    expect(made.code, made.stderr).toBe(0);
    const res = await runCli(['archive', 'stats', '-d', b, '-a', aArchives, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout) as { archives: number; otherDatabases: { archives: number } };
    expect(s.archives).toBe(0);
    expect(s.otherDatabases.archives).toBe(1);
  });
});
