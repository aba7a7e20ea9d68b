/**
 * A restore or verify by id of an archive whose only copy is damaged beyond repair says that damage
 * (ARCHIVE_CORRUPTED, exit 21, naming the copy and the commands that still work), as archive verify
 * and repair do, never ARCHIVE_NOT_FOUND "no archive".
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { makeTempDir } from '../../support/fixtures.js';

const root = await makeTempDir('bri-beyond-repair-by-id-');
afterAll(() => fsp.rm(root, { recursive: true, force: true }));
const dataDir = path.join(root, 'data');
let file = '';
let id = '';

beforeAll(async () => {
  for (let round = 0; round < 2; round++) {
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 3; i++) await db.set(`USER_${round}_${i}`, { i });
    await db.close();
    const created = await runCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(created.code, created.stderr).toBe(0);
  }
  const archives = path.join(dataDir, 'archives');
  file = path.join(archives, fs.readdirSync(archives).filter((n) => n.endsWith('.bri')).sort()[0]!);
  id = path.basename(file, '.bri');
  // The manifest and the recovery data overwritten: nothing mends this copy.
  const fd = await fsp.open(file, 'r+');
  await fd.write(Buffer.alloc(6000, 0x7f), 0, 6000, 1000);
  await fd.close();
});

for (const command of ['verify', 'from', 'info'] as const) {
  it(`restore ${command} <id> of a local archive damaged beyond repair exits 21 naming the damaged copy and what still works`, async () => {
    const extra = command === 'from' ? ['--target', path.join(root, `restored-${command}`)] : [];
    const r = await runCli(['restore', command, id, '-d', dataDir, ...extra]);
    expect(r.code, r.stderr).toBe(21);
    expect(r.stderr).toContain('ARCHIVE_CORRUPTED');
    expect(r.stderr).toContain(file);
    expect(r.stderr).not.toContain('no archive');
    expect(r.stderr).toContain(`bri archive delete ${id} --source local --force`);
  });
}
