/**
 * Restore hook commands are told the directory the restore replaces: beforeRestore (to stop the
 * application there, or snapshot it) and onError got no BRI_TARGET_DIR, nor a targetDir on stdin.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-hook-target-');

describe('restore hook commands', () => {
  it('beforeRestore and onError get BRI_TARGET_DIR and the plan\'s targetDir on stdin', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await db.close();
    const config = path.join(r, 'bri.json');
    fs.writeFileSync(config, JSON.stringify({
      restoreHooks: {
        beforeRestore: 'echo "$BRI_TARGET_DIR" > before.txt; cat > before.json; exit 3',
        onError: 'echo "$BRI_TARGET_DIR" > onerror.txt',
      },
    }));
    const target = path.join(r, 'restored');
    const res = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target]);
    expect(res.code).toBe(50);
    expect(fs.readFileSync(path.join(r, 'before.txt'), 'utf8').trim()).toBe(target);
    expect(JSON.parse(fs.readFileSync(path.join(r, 'before.json'), 'utf8')).event.targetDir).toBe(target);
    expect(fs.readFileSync(path.join(r, 'onerror.txt'), 'utf8').trim()).toBe(target);
    expect(fs.existsSync(target)).toBe(false);
  }, 30_000);
});
