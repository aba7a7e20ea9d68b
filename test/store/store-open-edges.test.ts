/**
 * The store's open and close at their edges, as an API caller meets them: the exported BriStore.open and
 * collectStats on a directory the app cannot fully read (raw EACCES errors before: no code, no hint); the cold
 * documents `data stats` counts; a write issued once db.close() has begun; what the open's recovery of an
 * interrupted restore did (said to no one before).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { journalPath, writeJournal } from '../../src/store/dir-swap.js';
import { BriStore } from '../../src/store/store.js';
import { APP_GID, APP_UID, chownTree, isRoot, NEEDS_ROOT, openToApp } from '../support/app-user.js';
import { REPO_ROOT } from '../support/child.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-store-open-edges-');

interface Said {
  name?: string;
  code?: string;
  message?: string;
  hint?: string;
  details?: Record<string, unknown>;
  ok?: true;
}

/** Runs `body` (an async module body whose `store` is src/store/store.ts, `stats` src/store/stats.ts) as nobody: what it threw, or ok. */
function asApp(body: string): Promise<Said> {
  const imports = `const store = await import(${JSON.stringify(path.join(REPO_ROOT, 'src/store/store.ts'))}); const stats = await import(${JSON.stringify(path.join(REPO_ROOT, 'src/store/stats.ts'))});`;
  const code = `${imports}\ntry { ${body}; console.log(JSON.stringify({ ok: true })); }\ncatch (e) { console.log(JSON.stringify({ name: e?.name, code: e?.code, message: e?.message, hint: e?.hint, details: e?.details })); }`;
  const argv = ['setpriv', `--reuid=${APP_UID}`, `--regid=${APP_GID}`, '--clear-groups', process.execPath, '--import', 'tsx', '--input-type=module', '-e', code];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', () => resolve(JSON.parse(stdout.trim().split('\n').pop() || '{}') as Said));
  });
}

/** The app's data directory (nobody's) of two segments or more, its oldest segment made unreadable (mode 000). */
async function dataDirWithUnreadableSegment(): Promise<{ dataDir: string; segment: string }> {
  const root = await tmp();
  openToApp(root);
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 256 } });
  for (let i = 0; i < 8; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(40) });
  await db.close();
  chownTree(dataDir);
  const segments = fs.readdirSync(path.join(dataDir, 'wal')).filter((n) => n.endsWith('.wal')).sort();
  expect(segments.length).toBeGreaterThan(1);
  const segment = path.join(dataDir, 'wal', segments[0]!);
  fs.chmodSync(segment, 0o000);
  return { dataDir, segment };
}

function expectPermissionError(said: Said, at: string): void {
  const shown = JSON.stringify(said);
  expect(said.name, shown).toBe('BriError');
  expect(said.code, shown).toBe('IO_ERROR');
  expect(said.details, shown).toMatchObject({ errno: 'EACCES', path: at });
  expect(said.hint, shown).toContain(`No permission for ${at}`);
}

describe.skipIf(!isRoot)(`a data directory the app cannot fully read${NEEDS_ROOT}`, () => {
  it('BriStore.open (exported on its own) answers an unreadable segment with IO_ERROR naming it and the permission hint', async () => {
    const { dataDir, segment } = await dataDirWithUnreadableSegment();
    const said = await asApp(`const s = await store.BriStore.open({ dataDir: ${JSON.stringify(dataDir)} }); await s.close()`);
    expectPermissionError(said, segment);
    expect(said.message).toContain(`opening the data directory ${dataDir}`);
  }, 60_000);

  it('collectStats answers an unreadable segment with IO_ERROR naming it and the permission hint', async () => {
    const { dataDir, segment } = await dataDirWithUnreadableSegment();
    const said = await asApp(`await stats.collectStats(${JSON.stringify(dataDir)})`);
    expectPermissionError(said, segment);
    expect(said.message).toContain(`reading the data directory ${dataDir}`);
  }, 60_000);
});

describe('data stats', () => {
  it('counts cold documents, not cold files: two files that name one key (cold/POST/abc.jss and cold/POST/POST_abc.jss) are one document', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('USER_1', { a: 1 });
    await db.close();
    for (const rel of ['cold/POST/abc.jss', 'cold/POST/POST_abc.jss', 'cold/POST/def.jss']) {
      fs.mkdirSync(path.dirname(path.join(dataDir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dataDir, rel), '{"title":"t"}');
    }
    const r = await runCli(['data', 'stats', '-d', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { coldDocuments: number }).coldDocuments).toBe(2);
  });
});

describe('db.close() with createDB', () => {
  it('refuses a write issued after close() began with STORE_CLOSED (not acknowledged, not in the directory), as the bare store does', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { localDir: path.join(root, 'archives') } } });
    await db.set('A', { v: 1 });
    const closing = db.close();
    await expect(db.set('LATE', { v: 2 })).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(db.delete('A')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await closing;
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.keys()).toEqual(['A']);
    await again.close();
  });
});

/** The BRI_* process warnings emitted while `fn` runs (and the tick after it). */
async function warningsDuring(fn: () => Promise<void>): Promise<Array<{ code?: string; message: string }>> {
  const seen: Array<{ code?: string; message: string }> = [];
  const listen = (w: Error & { code?: string }) => {
    if (w.code?.startsWith('BRI_')) seen.push({ code: w.code, message: w.message });
  };
  process.on('warning', listen);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listen);
  }
  return seen;
}

describe('opening a data directory whose restore a crash interrupted', () => {
  for (const opener of ['BriStore.open', 'createDB'] as const) {
    it(`${opener} says what the recovery did as a BRI_RESTORE_RECOVERED process warning`, async () => {
      const dataDir = path.join(await tmp(), 'data');
      const first = await createDB({ storeConfig: { dataDir } });
      await first.set('A', { v: 1 });
      await first.close();
      // A restore killed while it built its new directory beside the target: the open rolls it back.
      const newDir = `${dataDir}.restore-20260101T000000000Z`;
      fs.mkdirSync(path.join(newDir, 'wal'), { recursive: true });
      await writeJournal({ target: dataDir, newDir, oldDir: null, phase: 'building', cleanExisting: false, carryOver: [] });
      const warnings = await warningsDuring(async () => {
        const db = opener === 'createDB' ? await createDB({ storeConfig: { dataDir } }) : await BriStore.open({ dataDir });
        expect(db.keys()).toEqual(['A']);
        await db.close();
      });
      expect(fs.existsSync(journalPath(dataDir))).toBe(false);
      expect(fs.existsSync(newDir)).toBe(false);
      expect(warnings).toEqual([{ code: 'BRI_RESTORE_RECOVERED', message: `opening ${dataDir}: rolled back an unfinished restore (removed ${newDir})` }]);
    });
  }
});
