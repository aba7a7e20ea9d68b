/**
 * `bri restore list` of an instance whose archives hold no line, only a state (the first archive after a
 * restore to an earlier moment, nothing written since): "the state at line N", not "lines N+1..N".
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-list-state-');

describe('restore list', () => {
  it('says "the state at line N" for an instance whose archives hold no line', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    const first = await db.archive.create();
    await db.set('B', { v: 2 });
    await db.archive.create();
    await db.close();
    const back = await runCli(['restore', 'to-timestamp', new Date(first.manifest.timeRange.end).toISOString(), '-d', dataDir, '--force', '--clean-existing', '-q']);
    expect(back.code, back.stderr).toBe(0);
    const made = await runCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(made.code, made.stderr).toBe(0);
    const list = await runCli(['restore', 'list', '-d', dataDir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toContain('lines 2..1');
    expect(list.stdout).toMatch(/the state at line 1, 1 archives/);
  }, 60_000);
});
