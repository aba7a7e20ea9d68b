/**
 * `bri restore to-timestamp T` of a quiet database (nothing written since its last archive), T after its
 * last line: the newest state, said as after the last line. It was TIMESTAMP_NOT_FOUND "pick a time inside
 * one of the available ranges" while the state then was the newest one.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-quiet-restore-');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('restore to a time after a quiet database last line', () => {
  it('restores the newest state and says the time is after the last line; with lines in no archive since, it is refused with archive create as the way', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await db.set('A', { v: 2 });
    await db.archive.create();
    await db.close();
    await pause(20);
    const t = new Date(Date.now() - 5).toISOString();
    const target = path.join(root, 't');
    const cli = await runCli(['restore', 'to-timestamp', t, '-d', dataDir, '--target', target]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('after the last line (line 2');
    const json = await runCli(['restore', 'to-timestamp', t, '-d', dataDir, '--target', path.join(root, 't2'), '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { plan: { pastLastLine?: { line: number } } }).plan.pastLastLine?.line).toBe(2);
    const restored = await createDB({ storeConfig: { dataDir: target } });
    expect(await restored.get('A')).toEqual({ v: 2 });
    await restored.close();

    const live = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await live.set('A', { v: 3 });
    await live.close();
    await pause(20);
    const refused = await runCli(['restore', 'to-timestamp', new Date(Date.now() - 5).toISOString(), '-d', dataDir, '--target', path.join(root, 't3')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("The data directory's WAL holds lines 3..3, in no archive: `bri archive create`");
  }, 60_000);
});
