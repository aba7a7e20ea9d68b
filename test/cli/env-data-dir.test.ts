/**
 * $BRI_DATA_DIR set but empty (BRI_DATA_DIR="$DIR" with DIR unset) is refused as `-d ""` is: it silently
 * meant ./data, and a destructive command (restore keys) acted on whatever ./data the working directory held.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-env-data-dir-');

describe('BRI_DATA_DIR', () => {
  it('set but empty is USAGE naming it, never ./data; -d given makes it irrelevant', async () => {
    for (const args of [['restore', 'keys', 'A', '--at', '2020-01-01T00:00:00Z', '--json'], ['data', 'stats', '--json']]) {
      const r = await runCli(args, { BRI_DATA_DIR: '' });
      expect(r.code, r.stderr).toBe(2);
      const said = JSON.parse(r.stderr.trim()) as { error: { code: string; message: string; hint: string } };
      expect(said.error).toMatchObject({ code: 'USAGE', message: 'BRI_DATA_DIR is set but empty' });
      expect(said.error.hint).toMatch(/unset BRI_DATA_DIR/);
    }
    const text = await runCli(['data', 'stats'], { BRI_DATA_DIR: '' });
    expect(text.stderr).toMatch(/^error \[USAGE\]: BRI_DATA_DIR is set but empty$/m);

    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { a: 1 });
    await db.close();
    const given = await runCli(['data', 'stats', '-d', dataDir, '--json'], { BRI_DATA_DIR: '' });
    expect(given.code, given.stderr).toBe(0);
    const fromEnv = await runCli(['data', 'stats', '--json'], { BRI_DATA_DIR: dataDir });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect((JSON.parse(fromEnv.stdout) as { dataDir: string }).dataDir).toBe(dataDir);
  }, 60_000);
});
