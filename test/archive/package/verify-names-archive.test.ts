/**
 * `bri archive verify <id>` reads a local archive through a hard link of its own (a prune removing the
 * file meanwhile leaves the reading whole); what it says of the archive names the archive's own file,
 * never that internal link (.bri-scratch....reading-<id>), which is gone when the user looks.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-verify-names-');

describe('archive verify of a damaged local archive', () => {
  it('names the archive file in every problem, not the scratch link it read', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const archiveDir = path.join(root, 'arch');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('a', { v: 1 });
    await db.close();
    await fsp.mkdir(archiveDir);
    const id = '20301231T000000000Z-0000abcd';
    const file = path.join(archiveDir, `${id}.bri`);
    await fsp.writeFile(file, 'junk\n');
    const r = await runCli(['archive', 'verify', id, '-d', dataDir, '-a', archiveDir]);
    expect(r.code).toBe(21);
    expect(r.stderr).toContain(`FAILED ${file}`);
    expect(r.stderr).toContain(`${file} is not a readable tar archive`);
    expect(r.stderr).not.toContain('.bri-scratch');
  });
});
