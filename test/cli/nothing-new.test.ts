/**
 * `bri archive create` with nothing new is not a failure: a cron job on a quiet database exits 0 and says which
 * archive already holds everything (stderr; one document with archiveId null under --json). An earlier run's
 * upload retried by it is said as after any archive, and when it fails again the exit code is 41. The API still
 * rejects with NOTHING_TO_ARCHIVE.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-nothing-new-');

async function archived(): Promise<{ r: string; dataDir: string; archiveId: string }> {
  const r = await tmp();
  const dataDir = path.join(r, 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  for (let i = 0; i < 10; i++) await db.set(`K${i}`, { i });
  const { archiveId } = await db.archive.create();
  await expect(db.archive.create()).rejects.toMatchObject({ code: 'NOTHING_TO_ARCHIVE' });
  await db.close();
  return { r, dataDir, archiveId };
}

describe('archive create with nothing new', () => {
  it('exits 0 saying which archive holds everything (stderr), prints nothing under --quiet, and one document with archiveId null under --json', async () => {
    const { dataDir, archiveId } = await archived();
    const text = await runCli(['archive', 'create', '-d', dataDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe('');
    expect(text.stderr).toBe(`nothing to archive: ${archiveId} already holds everything through line 10\n`);
    const quiet = await runCli(['archive', 'create', '-d', dataDir, '--quiet']);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const json = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual({ archiveId: null, reason: `nothing to archive: ${archiveId} already holds everything through line 10`, uploads: [], cleanup: null, prune: null, hookErrors: [] });
  }, 60_000);

  it("retries an earlier run's failed upload: a failure again is exit 41 (in the --json document too), a success exit 0", async () => {
    const { r, dataDir, archiveId } = await archived();
    const nas = path.join(r, 'nas');
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const failed = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '--json']);
    expect(failed.code, failed.stderr).toBe(41);
    expect(JSON.parse(failed.stdout)).toMatchObject({ archiveId: null, reason: expect.stringContaining(archiveId), uploads: [{ archiveId, source: 'nas', outcome: 'failed', error: { code: expect.any(String) } }] });
    // The document holds the failed upload: stderr under --json carries JSON only (here nothing).
    expect(failed.stderr).toBe('');
    await fsp.mkdir(nas);
    const retried = await runCli(['archive', 'create', '-d', dataDir, '-c', config]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toMatch(new RegExp(`nothing to archive: ${archiveId} already holds everything through line 10\\n[\\s\\S]*uploaded nas: ${archiveId}`));
  }, 60_000);
});
