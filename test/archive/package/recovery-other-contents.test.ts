/**
 * An archive whose members all match the manifest and checksums.sha256, but whose recovery.par2 was
 * computed over other bytes of the same length under the same name (one byte of a WAL member different).
 * The members' SHA-256 vouch for the data: the PAR2 data that disagrees is what is damaged. Verify says
 * the data is intact and the recovery data bad; repair writes the recovery data again and never the members.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { par2RecoveryWriter, type RecoveryWriter } from '../../../src/archive/package/recovery.js';
import { createDB } from '../../../src/db.js';
import { tarLayout } from '../../support/hostile-tar.js';
import { runCli } from '../../support/cli.js';
import { makeTempDir } from '../../support/fixtures.js';
import { archiveMembers, repack } from './craft-kit.js';

/** The real writer, run over a copy of the prefix whose first WAL member has one byte changed. */
function otherContents(dir: string): RecoveryWriter {
  const real = par2RecoveryWriter(0.5);
  return {
    redundancy: real.redundancy,
    plan: (n) => real.plan(n),
    async write(pkg, prefixBytes, outPath, plan, name, ready) {
      await ready?.(prefixBytes);
      const copy = (await fsp.readFile(pkg)).subarray(0, prefixBytes);
      const wal = tarLayout(copy).members.find((m) => m.name.startsWith('wal/'))!;
      copy[wal.dataOffset + (wal.size >> 1)]! ^= 0x01;
      const other = path.join(dir, 'other-contents');
      await fsp.writeFile(other, copy);
      return real.write(other, prefixBytes, outPath, plan, name);
    },
  };
}

let root: string;
let dataDir: string;
let archiveId: string;
let file: string;
let membersBefore: Map<string, Buffer>;

beforeAll(async () => {
  root = await makeTempDir('bri-recovery-other-contents-');
  dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  try {
    for (let i = 0; i < 20; i++) await db.set(`K${i}`, { v: i, s: 'x'.repeat(50) });
    const a = await db.archive.create();
    archiveId = a.archiveId;
    file = a.file;
  } finally {
    await db.close();
  }
  await repack(file, { recovery: otherContents(root) });
  membersBefore = (await archiveMembers(file)).members;
}, 60_000);
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

/** The data members (everything but recovery.par2), which no repair of this archive may change. */
async function dataMembers(): Promise<Array<[string, string]>> {
  const { members } = await archiveMembers(file);
  return [...members].filter(([n]) => n !== 'recovery.par2').map(([n, b]) => [n, b.toString('base64')]);
}

describe('recovery data computed over other contents', () => {
  it('verify says the data is intact and the recovery data does not describe it (exit 24)', async () => {
    const r = await runCli(['archive', 'verify', archiveId, '-d', dataDir, '--json']);
    const report = JSON.parse(r.stdout) as { dataIntact: boolean; restorable: boolean; repairable: boolean; problems: string[] };
    expect(report).toMatchObject({ dataIntact: true, restorable: true, repairable: true });
    expect(report.problems.join('\n')).toMatch(/recovery\.par2 does not describe this archive: 1 of its \d+ blocks disagree with members that match their SHA-256/);
    expect(r.code).toBe(24);
  }, 60_000);

  it('repair --in-place writes the recovery data again and leaves every member as it was', async () => {
    const before = [...membersBefore].filter(([n]) => n !== 'recovery.par2').map(([n, b]) => [n, b.toString('base64')]);
    const fixed = await runCli(['archive', 'repair', archiveId, '-d', dataDir, '--in-place']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(await dataMembers()).toEqual(before);
    expect((await archiveMembers(file)).members.get('recovery.par2')!.equals(membersBefore.get('recovery.par2')!)).toBe(false);
    const again = await runCli(['archive', 'verify', archiveId, '-d', dataDir]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const target = path.join(root, 'restored');
    const restored = await runCli(['restore', 'from', archiveId, '-d', dataDir, '--target', target]);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    const db = await createDB({ storeConfig: { dataDir: target } });
    try {
      expect(db.get('K1')).toEqual({ v: 1, s: 'x'.repeat(50) });
    } finally {
      await db.close();
    }
  }, 90_000);
});
