/**
 * A database whose clock is ahead of the reader's (another host, a clock set wrong for a while): its
 * lines are stamped after the moment the reader opens the data directory. show --at, restore keys
 * --at and diff at a moment between two of those lines were refused as "after the newest moment
 * that can be answered (<the reader's now>)" while history listed the lines and `restore
 * to-timestamp` restored that very moment. The newest moment is now the later of the reading and the
 * last line's time; a moment after both is still refused.
 */
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-clock-ahead-');
const HOUR = 3_600_000;

/** Writes A=1, then A=2 a second later, as a database whose clock is an hour ahead; returns the two lines' times. */
async function writeAhead(dataDir: string): Promise<[number, number]> {
  const first = Date.now() + HOUR;
  let now = first;
  vi.spyOn(Date, 'now').mockImplementation(() => now);
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  try {
    await db.set('A', { v: 1 });
    now = first + 1000;
    await db.set('A', { v: 2 });
  } finally {
    await db.close();
    vi.restoreAllMocks();
  }
  return [first, first + 1000];
}

/** What `show`, `restore keys` and `restore diff` say at `at`, and their exit codes. */
async function answersAt(dataDir: string, at: string) {
  const show = await runCli(['archive', 'show', 'A', '--at', at, '-d', dataDir]);
  const keys = await runCli(['restore', 'keys', 'A', '--at', at, '-d', dataDir, '--dry-run', '--json']);
  const diff = await runCli(['restore', 'diff', '--at', at, '-d', dataDir, '--json']);
  return { show, keys, diff };
}

afterEach(() => vi.restoreAllMocks());

describe("time travel on a database whose clock is ahead of the reader's", () => {
  it('answers a moment between two archived lines stamped after now, as restore to-timestamp restores it', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const [first] = await writeAhead(dataDir);
    expect((await runCli(['archive', 'create', '-d', dataDir, '-q'])).code).toBe(0);
    const at = new Date(first + 500).toISOString();

    const { show, keys, diff } = await answersAt(dataDir, at);
    expect([show.code, show.stderr]).toEqual([0, '']);
    expect(show.stdout).toContain('{"v":1}');
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.stdout).items).toMatchObject([{ key: 'A', atT: '{"v":1}', action: 'set' }]);
    expect(diff.code).toBe(0);
    expect(JSON.parse(diff.stdout)).toMatchObject({ changed: ['A'], added: [], removed: [] });

    const target = path.join(root, 'restored');
    expect((await runCli(['restore', 'to-timestamp', at, '-d', dataDir, '--target', target])).code).toBe(0);
    expect((await runCli(['data', 'dump', '-d', target])).stdout).toContain('{\\"v\\":1}');
  }, 120_000);

  it('answers such a moment from the data directory alone (nothing archived), and still refuses one after its last line', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const [first, last] = await writeAhead(dataDir);

    const { show, keys, diff } = await answersAt(dataDir, new Date(first + 500).toISOString());
    expect([show.code, keys.code, diff.code]).toEqual([0, 0, 0]);
    expect(show.stdout).toContain('{"v":1}');
    expect(JSON.parse(diff.stdout)).toMatchObject({ changed: ['A'] });

    const later = await runCli(['archive', 'show', 'A', '--at', new Date(last + HOUR).toISOString(), '-d', dataDir]);
    expect(later.code).toBe(31);
    expect(later.stderr).toContain('TIMESTAMP_NOT_FOUND');
    expect(later.stderr).toContain(`after the newest moment that can be answered (${new Date(last).toISOString()})`);
  }, 120_000);
});
