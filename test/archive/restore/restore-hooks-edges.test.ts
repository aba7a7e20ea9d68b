/**
 * Restore hooks at the edges of a run: onError was told only of failures inside the build (not of "no
 * archive", a moment outside every archive, a target refused); and beforeRestore came after the target's
 * lock was checked, so it could never stop the application it is told the directory of.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { REPO_ROOT, spawnTs, collectLines, waitExit } from '../../support/child.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-hook-edges-');

async function archived(dataDir: string, n = 10): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  for (let i = 0; i < n; i++) await db.set(`K${i}`, { i });
  await db.archive.create();
  await db.close();
}

describe('a restore hook onError', () => {
  it('is told of every failure of a restore, before planning and after it, once each; never of a dry run', async () => {
    const r = await tmp();
    const empty = path.join(r, 'empty');
    await (await createDB({ storeConfig: { dataDir: empty } })).close();
    const told: Array<{ code: unknown; targetDir: string; archive: unknown }> = [];
    const hooks = { onError: (e: unknown, p: { targetDir: string; archive?: unknown }) => void told.push({ code: (e as { code?: unknown }).code, targetDir: p.targetDir, archive: p.archive ?? null }) };

    const none = openRestore({ dataDir: empty });
    await expect(none.fromLatest({ hooks })).rejects.toMatchObject({ code: 'ARCHIVE_NOT_FOUND' });
    await expect(none.fromLatest({ hooks, dryRun: true })).rejects.toMatchObject({ code: 'ARCHIVE_NOT_FOUND' });
    expect(told).toEqual([{ code: 'ARCHIVE_NOT_FOUND', targetDir: path.resolve(empty), archive: null }]);

    const dataDir = path.join(r, 'data');
    await archived(dataDir);
    const api = openRestore({ dataDir });
    told.length = 0;
    await expect(api.toTimestamp('2001-01-01T00:00:00Z', { hooks, targetDir: path.join(r, 't1') })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    // A target that is not empty, without force: refused after planning (the plan is given).
    const busy = path.join(r, 'busy');
    await fsp.mkdir(busy);
    await fsp.writeFile(path.join(busy, 'x'), 'x');
    await expect(api.fromLatest({ hooks, targetDir: busy })).rejects.toMatchObject({ code: 'RESTORE_ERROR' });
    // A failure inside the build: told once, not twice.
    await expect(api.fromLatest({ hooks: { ...hooks, afterWalSegmentRestore: () => { throw new Error('no thanks'); } }, targetDir: path.join(r, 't2') })).rejects.toMatchObject({ code: 'RESTORE_ERROR' });
    expect(told.map((t) => [t.code, t.targetDir, t.archive !== null])).toEqual([
      ['TIMESTAMP_NOT_FOUND', path.join(r, 't1'), false],
      ['RESTORE_ERROR', busy, true],
      ['RESTORE_ERROR', path.join(r, 't2'), true],
    ]);
    await api.close();
  });

  it('as a command in the configuration gets BRI_ERROR_CODE and BRI_TARGET_DIR for a restore that found nothing to restore', async () => {
    const r = await tmp();
    const out = path.join(r, 'hook.env');
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive: { restoreHooks: { onError: `env | grep '^BRI_' | sort > "${out}"` } } }));
    await (await createDB({ storeConfig: { dataDir: path.join(r, 'data') } })).close();
    const res = await runCli(['restore', 'latest', '-d', path.join(r, 'data'), '-c', cfg]);
    expect(res.code).toBe(20);
    const env = await fsp.readFile(out, 'utf8');
    expect(env).toContain('BRI_ERROR_CODE=ARCHIVE_NOT_FOUND');
    expect(env).toContain(`BRI_TARGET_DIR=${path.join(r, 'data')}`);
  });
});

describe('a restore hook beforeRestore', () => {
  it('runs before the target\'s lock is checked: it can stop the application that has the directory open, and the restore in place goes on', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    await archived(dataDir);
    const script = path.join(r, 'app.mts');
    await fsp.writeFile(script, `import { createDB } from ${JSON.stringify(path.join(REPO_ROOT, 'src/db.ts'))};\nconst db = await createDB({ storeConfig: { dataDir: process.argv[2] } });\nawait db.set('LATE', { v: 1 });\nconsole.log('open');\nsetInterval(() => undefined, 1000);\n`);
    const app = spawnTs(script, [dataDir]);
    await new Promise<void>((resolve, reject) => {
      collectLines(app, (l) => l === 'open' && resolve());
      app.once('exit', (code) => reject(new Error(`the app exited (${code}) before it opened the database`)));
    });
    const api = openRestore({ dataDir });
    // Without a hook that stops it: LOCKED, the hint says a beforeRestore hook can.
    await expect(api.fromLatest({ force: true })).rejects.toMatchObject({ code: 'LOCKED', hint: expect.stringContaining('beforeRestore') });
    const done = await api.fromLatest({
      force: true,
      hooks: {
        beforeRestore: async () => {
          app.kill('SIGKILL');
          await waitExit(app);
        },
      },
    });
    expect(done.lastLine).toBe(10);
    await api.close();
    const db = await createDB({ storeConfig: { dataDir } });
    expect(await db.get('K9')).toEqual({ i: 9 });
    expect(await db.get('LATE')).toBeUndefined();
    await db.close();
  }, 60_000);
});
