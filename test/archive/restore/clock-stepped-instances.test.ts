/**
 * A directory rolled back in place while the host clock was behind (stepped back 2 h: a resumed VM): the
 * new instance's archives are "made" before the old one's. When the directory is then lost, `restore
 * latest` with no --instance must not take the abandoned, rolled-back instance by its archives' creation
 * times (the bad write back, the writes since the rollback gone, exit 0): the archives prove a clock
 * wrong, so it asks which instance (USAGE, naming both). A clock ahead when the old instance's archive was
 * made is said as clocks that contradict each other, not as a clone archived beside its origin.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-clock-instances-');
const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));
const HOUR = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

/** Sets the process's clock (Date.now and new Date) `offsetMs` from the real one, frozen there. */
function clockAt(offsetMs: number): void {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date(Date.now() + offsetMs) });
}

/** `key` written, then archived with the clock `createOffsetMs` off. */
async function write(dataDir: string, archiveDir: string, key: string, v: string, createOffsetMs = 0): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, archive: { localDir: archiveDir, compression: { level: 1 } } } });
  try {
    await db.set(key, { v });
    if (createOffsetMs !== 0) clockAt(createOffsetMs);
    await db.archive.create();
  } finally {
    await db.close();
  }
}

/** X=good archived, X=bad archived (the archive made with the clock `badOffsetMs` off), then rolled back in place to before the bad write with the clock `rollbackOffsetMs` off, Y written and archived. */
async function rolledBack(root: string, badOffsetMs: number, rollbackOffsetMs: number): Promise<{ dataDir: string; archiveDir: string; oldId: string; newId: string }> {
  const dataDir = path.join(root, 'd');
  const archiveDir = path.join(root, 'arch');
  await write(dataDir, archiveDir, 'X', 'good');
  await pause(20);
  const beforeBad = Date.now();
  await pause(20);
  await write(dataDir, archiveDir, 'X', 'bad', badOffsetMs);
  vi.useRealTimers();
  const oldId = (await readArchiveState(dataDir))!.instanceId;
  if (rollbackOffsetMs !== 0) clockAt(rollbackOffsetMs);
  await openRestore({ dataDir, archiveDir }).toTimestamp(beforeBad, { force: true, cleanExisting: true });
  await write(dataDir, archiveDir, 'Y', 'after rollback');
  vi.useRealTimers();
  const newId = (await readArchiveState(dataDir))!.instanceId;
  expect(newId).not.toBe(oldId);
  await fsp.rm(dataDir, { recursive: true });
  return { dataDir, archiveDir, oldId, newId };
}

describe('restore latest (no --instance) after a rollback in place made while the clock was behind', () => {
  it('refuses with USAGE naming both instances and that the clocks contradict each other, and restores nothing', async () => {
    const { dataDir, archiveDir, oldId, newId } = await rolledBack(await tmp(), 0, -2 * HOUR);
    const cli = await runCli(['restore', 'latest', '-a', archiveDir, '-d', dataDir]);
    expect(cli.stderr).toContain('[USAGE]');
    expect(cli.stderr).toContain(oldId);
    expect(cli.stderr).toContain(newId);
    expect(cli.stderr).toContain('clocks contradict');
    expect(cli.stderr).toContain('--instance');
    expect(cli.code, cli.stderr).toBe(2);
    expect(fs.existsSync(dataDir)).toBe(false);
    const at = await runCli(['restore', 'to-timestamp', new Date().toISOString(), '-a', archiveDir, '-d', dataDir]);
    expect(at.stderr).toContain('[USAGE]');
    expect(at.code, at.stderr).toBe(2);
  });

  it('with the old instance\'s last archive made by a clock ahead, refuses saying the clocks contradict each other, not a clone beside its origin', async () => {
    const { dataDir, archiveDir, oldId, newId } = await rolledBack(await tmp(), HOUR, 0);
    const cli = await runCli(['restore', 'latest', '-a', archiveDir, '-d', dataDir]);
    expect(cli.stderr).toContain('[USAGE]');
    expect(cli.stderr).toContain(oldId);
    expect(cli.stderr).toContain(newId);
    expect(cli.stderr).toContain('clocks contradict');
    expect(cli.stderr).not.toContain('clone beside its origin');
    expect(cli.code, cli.stderr).toBe(2);
  });

  it('with the clocks agreeing, restores the instance the rollback started (Y, X=good)', async () => {
    const { dataDir, archiveDir, newId } = await rolledBack(await tmp(), 0, 0);
    const cli = await runCli(['restore', 'latest', '-a', archiveDir, '-d', dataDir]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(newId);
    const dump = await runCli(['data', 'dump', '-d', dataDir]);
    expect(dump.stdout).toContain('after rollback');
    expect(dump.stdout).toContain('good');
    expect(dump.stdout).not.toContain('"bad');
  });
});
