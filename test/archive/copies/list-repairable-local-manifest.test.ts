/**
 * archive list shows a local archive whose manifest PAR2 can repair as that archive, its local copy
 * marked damaged (as a remote copy's damaged manifest is, and as archive get shows it), not as an
 * unreadable file; one damaged beyond repair stays unreadable.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { makeTempDir } from '../../support/fixtures.js';

const root = await makeTempDir('bri-list-repairable-');
afterAll(() => fsp.rm(root, { recursive: true, force: true }));
const dataDir = path.join(root, 'data');
const archives = path.join(dataDir, 'archives');
let ids: string[] = [];

async function damage(file: string, at: number, bytes: Buffer): Promise<void> {
  const fd = await fsp.open(file, 'r+');
  await fd.write(bytes, 0, bytes.length, at);
  await fd.close();
}

type Listed = { archives: Array<{ manifest: { archiveId: string }; copies: Array<{ source: string; damaged?: boolean }> }>; unreadable: Array<{ location: string }> };

beforeAll(async () => {
  for (let round = 0; round < 2; round++) {
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 4; i++) await db.set(`USER_${round}_${i}`, { i });
    await db.close();
    const created = await runCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(created.code, created.stderr).toBe(0);
  }
  ids = fs.readdirSync(archives).filter((n) => n.endsWith('.bri')).sort().map((n) => path.basename(n, '.bri'));
  // The first: its manifest damaged in two blocks, within its PAR2 redundancy. The second: beyond repair.
  await damage(path.join(archives, `${ids[0]}.bri`), 600, Buffer.alloc(56, 0x58));
  await damage(path.join(archives, `${ids[0]}.bri`), 1600, Buffer.alloc(25, 0x59));
  await damage(path.join(archives, `${ids[1]}.bri`), 1000, Buffer.alloc(6000, 0x7f));
});

it('archive list lists a local archive whose manifest PAR2 repairs as that archive with its local copy damaged, as archive get does', async () => {
  const r = await runCli(['archive', 'list', '-d', dataDir, '--json']);
  const listed = JSON.parse(r.stdout) as Listed;
  const entry = listed.archives.find((a) => a.manifest.archiveId === ids[0]);
  expect(entry?.copies).toEqual([expect.objectContaining({ source: 'local', damaged: true })]);
  expect(listed.unreadable.map((u) => u.location)).toEqual([path.join(archives, `${ids[1]}.bri`)]);
  const got = await runCli(['archive', 'get', ids[0]!, '-d', dataDir]);
  expect(got.code, got.stderr).toBe(0);
  const human = await runCli(['archive', 'list', '-d', dataDir]);
  expect(human.stdout).toContain(ids[0]);
  expect(human.stdout.split('\n').find((l) => l.startsWith(ids[0]!))).toMatch(/local \(damaged\)$/);
  expect(human.stderr).not.toContain(`${ids[0]}.bri`);
  // The repair read scratch copies: none is left among the archives.
  expect(fs.readdirSync(archives).filter((n) => n.endsWith('.bri')).sort()).toEqual(ids.map((id) => `${id}.bri`));
});
