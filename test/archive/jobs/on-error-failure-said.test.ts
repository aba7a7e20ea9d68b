/**
 * An onError hook (the alerting path) that fails was swallowed without a word: the CLI said only the failure
 * onError was told of, the API gave no warning. Its failure is now said (a BRI_HOOK_FAILED process warning,
 * which the CLI shows on stderr), and never thrown over the error it was told of.
 */
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/index.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-onerror-said-');

let warnings: string[] = [];
const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code}: ${w.message}`);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
const settle = () => new Promise((r) => setImmediate(r));

describe('an onError hook that fails', () => {
  it('API: a throwing onError function is a BRI_HOOK_FAILED warning; the archive and the afterArchive hook error stand', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          compression: { level: 1 },
          hooks: {
            afterArchive: () => {
              throw new Error('afterArchive says no');
            },
            onError: () => {
              throw new Error('pager unreachable');
            },
          },
        },
      },
    });
    await db.set('A', { v: 1 });
    const made = await db.archive.create();
    await settle();
    expect(made.hookErrors).toEqual(['afterArchive: afterArchive says no']);
    expect(warnings).toEqual(['BRI_HOOK_FAILED: hook failed: onError: pager unreachable']);
    await db.close();
  });

  it("API: a restore's throwing onError is a BRI_HOOK_FAILED warning; the restore's own error is what the caller gets", async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { v: 1 });
    await db.close();
    const err = await openRestore({ dataDir })
      .fromLatest({
        targetDir: path.join(root, 'target'),
        hooks: {
          onError: () => {
            throw new Error('pager unreachable');
          },
        },
      })
      .then(() => null, (e: unknown) => e);
    await settle();
    expect(err).toMatchObject({ code: 'ARCHIVE_NOT_FOUND' });
    expect(warnings).toEqual(['BRI_HOOK_FAILED: hook failed: onError: pager unreachable']);
  });

  it('CLI: an onError command that exits non-zero is said on stderr with what it wrote, beside the failure it was told of', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { v: 1 });
    await db.close();
    const configFile = path.join(root, 'cfg.json');
    await import('node:fs').then((fs) => fs.writeFileSync(configFile, JSON.stringify({ compression: { level: 1 }, hooks: { afterArchive: 'exit 3', onError: 'echo PAGER-UNREACHABLE >&2; exit 7' } })));
    const r = await runCli(['archive', 'create', '-d', dataDir, '--config', configFile]);
    expect(r.stderr).toContain('afterArchive');
    expect(r.stderr).toMatch(/hook failed: onError: .*exited with 7: PAGER-UNREACHABLE/);
    expect(r.stderr).not.toMatch(/\(node:\d+\)/);
    // Under --json, stderr holds JSON documents only: the warning is one of them.
    const more = await createDB({ storeConfig: { dataDir } });
    await more.set('B', { v: 2 });
    await more.close();
    const json = await runCli(['archive', 'create', '-d', dataDir, '--config', configFile, '--json']);
    const docs = json.stderr.trim().split('\n').map((l) => JSON.parse(l) as { warning?: { message: string; code?: string } });
    expect(docs).toEqual(expect.arrayContaining([{ warning: expect.objectContaining({ code: 'BRI_HOOK_FAILED', message: expect.stringMatching(/hook failed: onError/) }) }]));
  });
});
