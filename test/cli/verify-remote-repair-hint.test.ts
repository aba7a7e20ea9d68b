/**
 * archive verify of a repairable copy prints a repair that works for that copy: --in-place for a local
 * file; for a remote's copy (which repair never writes), the commands that replace it with a whole one,
 * and those commands do mend it.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/fixtures.js';

const root = await makeTempDir('bri-verify-remote-hint-');
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

/** An archive on local and nas, nas's copy damaged in one PAR2 block past the manifest (repairable). */
async function setup(name: string): Promise<{ dataDir: string; config: string; id: string; local: string; remote: string }> {
  const dataDir = path.join(root, name, 'data');
  const nas = path.join(root, name, 'nas');
  const config = path.join(root, name, 'bri.json');
  await fsp.mkdir(nas, { recursive: true });
  await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 4; i++) await db.set(`USER_${i}`, { i });
  await db.close();
  const created = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '-q']);
  expect(created.code, created.stderr).toBe(0);
  const archives = path.join(dataDir, 'archives');
  const id = path.basename(fs.readdirSync(archives).find((n) => n.endsWith('.bri'))!, '.bri');
  const remote = path.join(nas, 'archives', `${id}.bri`);
  const fd = await fsp.open(remote, 'r+');
  await fd.write(Buffer.from('ZZZZZZZZ'), 0, 8, 2600);
  await fd.close();
  return { dataDir, config, id, local: path.join(archives, `${id}.bri`), remote };
}

/** Runs the commands a hint line names, one after the other (`cmd (note), then cmd, then cmd`). */
async function follow(line: string, dataDir: string, config: string): Promise<void> {
  const commands = line.split(/(?:: |, then )bri /).slice(1).map((c) => c.replace(/\(.*?\)/g, '').trim().split(/\s+/));
  for (const c of commands) {
    const r = await runCli([...c, '-d', dataDir, '-c', config]);
    expect(r.code, `bri ${c.join(' ')}: ${r.stderr}`).toBe(0);
  }
}

it('archive verify <id> -s nas of a repairable remote copy says to replace it from the local copy (not repair --in-place), and that mends it', async () => {
  const { dataDir, config, id } = await setup('with-local');
  const r = await runCli(['archive', 'verify', id, '-s', 'nas', '-d', dataDir, '-c', config]);
  expect(r.code, r.stderr).toBe(24);
  const hint = r.stderr.split('\n').find((l) => l.includes('to repair it:'))!;
  expect(hint).not.toContain('--in-place');
  expect(hint).toContain(`bri archive delete ${id} --source nas, then bri archive upload ${id} --source nas`);
  await follow(hint, dataDir, config);
  const again = await runCli(['archive', 'verify', id, '-s', 'nas', '-d', dataDir, '-c', config]);
  expect(again.code, again.stderr).toBe(0);
});

it('archive verify <id> with only a repairable remote copy says to download it repaired, then replace it, and that mends it', async () => {
  const { dataDir, config, id, local } = await setup('remote-only');
  await fsp.rm(local);
  const r = await runCli(['archive', 'verify', id, '-d', dataDir, '-c', config]);
  expect(r.code, r.stderr).toBe(24);
  const hint = r.stderr.split('\n').find((l) => l.includes('to repair it:'))!;
  expect(hint).not.toContain('--in-place');
  expect(hint).toContain(`bri archive download ${id} ${local} --source nas`);
  await follow(hint, dataDir, config);
  const again = await runCli(['archive', 'verify', id, '-s', 'nas', '-d', dataDir, '-c', config]);
  expect(again.code, again.stderr).toBe(0);
});

it('archive verify <id> of a repairable local copy still says bri archive repair <id> --in-place', async () => {
  const { dataDir, config, id, local, remote } = await setup('local-damaged');
  await fsp.copyFile(remote, local);
  const r = await runCli(['archive', 'verify', id, '-d', dataDir, '-c', config]);
  expect(r.code, r.stderr).toBe(24);
  expect(r.stderr).toContain(`to repair it: bri archive repair ${id} --in-place`);
});
