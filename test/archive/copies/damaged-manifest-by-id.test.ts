/**
 * A local archive whose manifest is damaged within what its PAR2 data repairs is the archive still:
 * a restore repairs it and restores, so every command taking its id reaches it (get shows it, download
 * writes a repaired copy, verify says repairable: 24), never "no archive" (20). Damaged beyond repair,
 * verify says what repair says of that file: ARCHIVE_CORRUPTED (21), not ARCHIVE_INVALID (22).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-damaged-manifest-');

/** Two archives; the first has bytes of its manifest overwritten (two PAR2 blocks, within its recovery data). */
async function damagedFirst(): Promise<{ root: string; dataDir: string; id: string; file: string }> {
  const root = await tmp();
  const dataDir = path.join(root, 'data');
  for (const n of [4, 2]) {
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    for (let i = 0; i < n; i++) await db.set(`USER_${i}`, { i, t: 1_700_000_000_000 + i });
    await db.close();
    const made = await runCli(['archive', 'create', '-d', dataDir, '--quiet']);
    expect(made.code, made.stderr).toBe(0);
  }
  const name = (await fsp.readdir(path.join(dataDir, 'archives'))).filter((f) => f.endsWith('.bri')).sort()[0]!;
  const file = path.join(dataDir, 'archives', name);
  const fd = await fsp.open(file, 'r+');
  await fd.write(Buffer.alloc(56, 'X'), 0, 56, 600);
  await fd.write(Buffer.alloc(25, 'Y'), 0, 25, 1600);
  await fd.close();
  return { root, dataDir, id: path.basename(name, '.bri'), file };
}

describe('a local archive whose manifest is damaged, reached by its id', () => {
  it('repairable: verify says 24, get shows it, download writes a repaired copy, delete deletes it', async () => {
    const { root, dataDir, id, file } = await damagedFirst();
    const at = ['-d', dataDir];
    const verify = await runCli(['archive', 'verify', id, ...at]);
    expect(verify.code, verify.stderr).toBe(24);

    const get = await runCli(['archive', 'get', id, ...at, '--json']);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).manifest.archiveId).toBe(id);
    expect(JSON.parse(get.stdout).copies[0]).toMatchObject({ source: 'local', location: file, damaged: true });

    const out = path.join(root, 'copy.bri');
    const download = await runCli(['archive', 'download', id, out, ...at]);
    expect(download.code, download.stderr).toBe(0);
    expect(download.stdout).toContain('repaired');
    const whole = await runCli(['archive', 'verify', out, ...at]);
    expect(whole.code, whole.stderr).toBe(0);

    const del = await runCli(['archive', 'delete', id, ...at]);
    expect(del.code, del.stderr).toBe(0);
    await expect(fsp.access(file)).rejects.toThrow();
  });

  it('beyond repair: verify exits 21 (ARCHIVE_CORRUPTED), as repair does', async () => {
    const { dataDir, id, file } = await damagedFirst();
    const fd = await fsp.open(file, 'r+');
    await fd.write(Buffer.alloc(6000, 0xa5), 0, 6000, 1000);
    await fd.close();
    const verify = await runCli(['archive', 'verify', id, '-d', dataDir]);
    expect(verify.code, verify.stderr).toBe(21);
    expect(verify.stderr).toContain('[ARCHIVE_CORRUPTED]');
    const repair = await runCli(['archive', 'repair', id, '-d', dataDir]);
    expect(repair.code, repair.stderr).toBe(21);
  });
});
