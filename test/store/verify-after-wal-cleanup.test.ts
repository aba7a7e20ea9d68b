/**
 * `bri data verify` on a directory as BRI's own WAL cleanup leaves it: every closed segment removed, the
 * snapshot's walLine lowered to 0, no line on disk, no bri-archive.json. Nothing is left to replay the snapshot
 * from: it is the anchor, not "a snapshot of another database".
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFixture, fixturesPresent } from '../support/fixtures.js';
import { runCli } from '../support/cli.js';

/** The `small` fixture as BRI's cleanup leaves it: the closed segments removed, walLine lowered by their 760 lines. */
async function cleanedUp(removeAll: boolean): Promise<string> {
  const dataDir = await copyFixture('small');
  const wal = path.join(dataDir, 'wal');
  for (const name of await fsp.readdir(wal)) if (removeAll || name < '000011.wal') await fsp.rm(path.join(wal, name));
  const snap = path.join(dataDir, 'snapshot.jss');
  const text = await fsp.readFile(snap, 'utf8');
  expect(text).toContain('"walLine":760,');
  await fsp.writeFile(snap, text.replace('"walLine":760,', '"walLine":0,'));
  return dataDir;
}

describe.skipIf(!fixturesPresent())('bri data verify after BRI\'s own WAL cleanup (walLine 0, no line on disk)', () => {
  it('calls the directory OK, anchored on its snapshot, not "a snapshot of another database"', async () => {
    for (const removeAll of [false, true]) {
      const dataDir = await cleanedUp(removeAll);
      const v = await runCli(['data', 'verify', '-d', dataDir, '--json']);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      const report = JSON.parse(v.stdout) as { ok: boolean; problems: string[]; snapshot: { walLine: number; comparedWithReplay: boolean } };
      expect(report).toMatchObject({ ok: true, problems: [], snapshot: { walLine: 0, comparedWithReplay: false } });
      const dump = await runCli(['data', 'dump', '-d', dataDir]);
      expect(dump.code).toBe(0);
      expect(Object.keys((JSON.parse(dump.stdout) as { documents: object }).documents).length).toBeGreaterThan(300);
    }
  }, 60_000);
});
