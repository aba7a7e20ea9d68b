/**
 * Keys, members and values holding control characters in the time-travel commands' text output:
 * each stays on its line, quoted with its escapes, and nothing reaches the terminal raw (a newline
 * split an entry in two, ESC drove the terminal). --json is unchanged.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-hostile-text-');
const KEY = 'evil\nline\u001b[31mred';
const MEMBER = 'm\rx';

describe('hostile keys in text output', () => {
  it('history, show, diff and a rollback dry run print such a key quoted on one line; --json gives it as it is', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('PLAIN', { v: 0 });
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await db.set(KEY, 'value\u0007bell');
    await db.sAdd('S', MEMBER);
    await db.archive.create();
    await db.close();
    const at = new Date(t0).toISOString();
    const runs = [
      await runCli(['archive', 'history', '-d', dataDir, '--', KEY]),
      await runCli(['archive', 'show', '-d', dataDir, '--at', new Date().toISOString(), '--', KEY]),
      await runCli(['restore', 'diff', '-d', dataDir, '--at', at]),
      await runCli(['restore', 'keys', '-d', dataDir, '--at', at, '--dry-run', '--', KEY]),
    ];
    for (const res of runs) {
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
      expect(res.stdout).not.toContain('evil\nline');
    }
    expect(runs[0]!.stdout).toContain(JSON.stringify(KEY));
    expect(runs[1]!.stdout.trim()).toBe(JSON.stringify('value\u0007bell'));
    expect(runs[2]!.stdout).toContain(`+ ${JSON.stringify(KEY)}`);
    expect(runs[2]!.stdout).toContain(JSON.stringify(MEMBER));
    const json = await runCli(['archive', 'history', '-d', dataDir, '--json', '--', KEY]);
    expect(JSON.parse(json.stdout).key).toBe(KEY);
  }, 60_000);
});
