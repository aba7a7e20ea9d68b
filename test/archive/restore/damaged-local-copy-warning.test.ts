/**
 * A restore that reads an archive from a remote because its local copy is damaged beyond repair says
 * that the local copy is damaged and the remote's was used, never that the archive is not in the restore.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { makeTempDir } from '../../support/fixtures.js';

const root = await makeTempDir('bri-damaged-local-copy-');
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

it('restore latest from nas when the local copy is damaged: warns that the local copy is damaged and the nas copy was restored from, with how to mend it', async () => {
  const dataDir = path.join(root, 'data');
  const config = path.join(root, 'bri.json');
  await fsp.mkdir(path.join(root, 'nas'));
  await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: path.join(root, 'nas') }] }));
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`USER_${i}`, { i });
  await db.close();
  const created = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '-q']);
  expect(created.code, created.stderr).toBe(0);
  const archives = path.join(dataDir, 'archives');
  const file = path.join(archives, fs.readdirSync(archives).find((n) => n.endsWith('.bri'))!);
  const id = path.basename(file, '.bri');
  // The manifest and the recovery data overwritten: nothing mends this copy.
  const fd = await fsp.open(file, 'r+');
  await fd.write(Buffer.alloc(6000, 0x7f), 0, 6000, 1000);
  await fd.close();

  const r = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', path.join(root, 'restored'), '--json']);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { source: string; warnings: string[]; plan: { archive: { manifest: { archiveId: string } } } };
  expect(out.source).toBe('nas');
  expect(out.warnings.join('\n')).not.toContain('is not in this restore');
  const warning = out.warnings.find((w) => w.includes(file));
  expect(warning).toContain(`the local copy of archive ${id}`);
  expect(warning).toContain('the copy on nas was restored from');
  expect(warning).toContain(`bri archive download ${id} ${file} --force`);
});
