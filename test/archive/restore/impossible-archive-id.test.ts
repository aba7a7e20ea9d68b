/**
 * An archive id no archive can have (a path separator, "..", a leading ".", past 128 characters) was USAGE
 * (exit 2) for `archive get/delete/download/thaw` but ARCHIVE_NOT_FOUND (exit 20) for `restore from`,
 * `restore info`, `restore verify` and `restore clone --archive`: the same id is now USAGE everywhere, and
 * the hint says the whole rule. A path to an archive file that exists is restored from (from-archive-file.test.ts).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-impossible-id-');
const IMPOSSIBLE = ['x/y', '../etc', '.hidden', 'a'.repeat(130)];

async function archived(root: string): Promise<string> {
  const dataDir = path.join(root, 'd');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  await db.set('A', { a: 1 });
  await db.archive.create();
  await db.close();
  return dataDir;
}

describe('an impossible archive id given to restore', () => {
  it('is USAGE (exit 2) for restore from, info, verify and clone --archive, with the rule in the hint', async () => {
    const root = await tmp();
    const d = await archived(root);
    for (const args of [
      ['restore', 'from', 'x/y', '--target', path.join(root, 't')],
      ['restore', 'info', '../etc'],
      ['restore', 'verify', '.hidden'],
      ['restore', 'clone', '--archive', 'a'.repeat(130), '--target', path.join(root, 'c')],
    ]) {
      const r = await runCli([...args, '-d', d]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('[USAGE]');
      expect(r.stderr).toContain('128');
      expect(r.stderr).toContain('starting with a letter or digit');
    }
  }, 120_000);

  it('a file given where the id goes (a download handed over) is restored from; a path to nothing is USAGE saying what a file restore takes', async () => {
    const root = await tmp();
    const d = await archived(root);
    const file = path.join(root, 'backup.bri.zst');
    const [a] = await openRestore({ dataDir: d }).list().then((l) => l.archives);
    expect((await runCli(['archive', 'download', a!.manifest.archiveId, file, '-d', d])).code).toBe(0);
    const r = await runCli(['restore', 'from', file, '--target', path.join(root, 't'), '-d', d]);
    expect(r.code, r.stderr).toBe(0);
    const gone = path.join(root, 'gone', 'backup.bri.zst');
    const none = await runCli(['restore', 'from', gone, '--target', path.join(root, 't2'), '-d', d]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`"${gone}" looks like a file: \`bri restore from <file>\` (and restore info, verify, clone) takes an archive file that exists`);
    expect(none.stderr).toContain('starting with a letter or digit');
  }, 120_000);

  it('is USAGE through the API for every impossible id, before anything is restored', async () => {
    const root = await tmp();
    const d = await archived(root);
    const api = openRestore({ dataDir: d });
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as { code?: string }).code);
    try {
      for (const id of IMPOSSIBLE) {
        expect(await code(api.from(id, { targetDir: path.join(root, 't') })), id).toBe('USAGE');
        expect(await code(api.plan({ kind: 'archive', archiveId: id })), id).toBe('USAGE');
        expect(await code(api.verify(id)), id).toBe('USAGE');
        expect(await code(api.clone({ archiveId: id, targetDir: path.join(root, 'c') })), id).toBe('USAGE');
      }
    } finally {
      await api.close();
    }
  }, 120_000);
});
