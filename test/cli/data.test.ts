import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFixture, FIXTURE_KEY, fixturesPresent, loadCheckpoints, normalizeState } from '../support/fixtures.js';
import { runCli } from '../support/cli.js';
import { createDB } from '../../src/db.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(path.dirname(d), { recursive: true, force: true });
});

describe.skipIf(!fixturesPresent())('bri data (end to end, child process)', () => {
  it('verify: exit 0 on a good directory, exit 1 naming the first bad line', async () => {
    const dir = await copyFixture('small');
    made.push(dir);
    const ok = await runCli(['data', 'verify', '--data-dir', dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/OK .*760 lines, chain verified from line 1/);

    const seg = path.join(dir, 'wal', '000003.wal');
    const lines = (await fsp.readFile(seg, 'utf8')).split('\n');
    lines[4] = lines[4]!.replace(/\|[0-9a-f]{8}\|/, '|deadbeef|');
    await fsp.writeFile(seg, lines.join('\n'));
    const bad = await runCli(['data', 'verify', '-d', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('wal/000003.wal line 5');
    expect(bad.stderr).toContain('found deadbeef');
    const json = await runCli(['data', 'verify', '-d', dir, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).chain.firstBreak).toMatchObject({ segment: '000003.wal', segmentLine: 5, found: 'deadbeef' });
  });

  it('dump --json gives the state the store sees; BRI_DATA_DIR is the default', async () => {
    const dir = await copyFixture('crashed');
    made.push(dir);
    const res = await runCli(['data', 'dump', '--json'], { BRI_DATA_DIR: dir });
    expect(res.code).toBe(0);
    const cps = loadCheckpoints('crashed');
    expect(normalizeState(JSON.parse(res.stdout))).toEqual(normalizeState(cps[cps.length - 1]!.state));
  });

  it('stats --json: segments, lines, bytes, snapshot line, operations by type', async () => {
    const dir = await copyFixture('crashed');
    made.push(dir);
    const res = await runCli(['data', 'stats', '-d', dir, '--json']);
    expect(res.code).toBe(0);
    const s = JSON.parse(res.stdout);
    expect(s.totalLines).toBe(630);
    expect(s.segments).toHaveLength(9);
    expect(s.snapshot.walLine).toBe(364);
    expect(s.linesToReplay).toBe(266);
    const ops = s.byOperation as Record<string, number>;
    expect(Object.values(ops).reduce((a, b) => a + b, 0)).toBe(630);
    const human = await runCli(['data', 'stats', '-d', dir]);
    expect(human.stdout).toMatch(/lines\s+630/);
  });

  it('encrypted: works with BRI_ENCRYPTION_KEY and says what it could not check without it', async () => {
    const dir = await copyFixture('encrypted');
    made.push(dir);
    const without = await runCli(['data', 'verify', '-d', dir]);
    expect(without.code).toBe(0);
    expect(without.stdout).toContain('NOT checked');
    const withKey = await runCli(['data', 'verify', '-d', dir], { BRI_ENCRYPTION_KEY: FIXTURE_KEY });
    expect(withKey.stdout).toContain('chain verified from line 1');
    const dump = await runCli(['data', 'dump', '-d', dir]);
    expect(dump.code).toBe(12);
    expect(dump.stderr).toContain('ENCRYPTION_KEY_MISSING');
    expect(dump.stderr).toContain('hint:');
    expect(dump.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('bad usage exits 2; a non-data directory exits with its own code and a hint', async () => {
    expect((await runCli(['data', 'frobnicate'])).code).toBe(2);
    const dir = path.dirname(await copyFixture('small'));
    made.push(path.join(dir, 'x'));
    await fsp.writeFile(path.join(dir, 'file.txt'), 'x');
    const res = await runCli(['data', 'verify', '-d', dir, '--json']);
    expect(res.code).toBe(10);
    expect(JSON.parse(res.stderr).error).toMatchObject({ code: 'NOT_A_DATA_DIR', hint: expect.any(String) });
  });
});

describe('bri data verify: the snapshot against a WAL whole from its first line', () => {
  it('a snapshot.jss of another database is reported (its keys are not the replay\'s); the directory\'s own passes, also after an archive', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-data-foreign-'));
    made.push(path.join(root, 'x'));
    const write = async (dir: string, prefix: string, n: number) => {
      const db = await createDB({ storeConfig: { dataDir: dir } });
      for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
      await db.sAdd('S', `${prefix}-member`);
      await db.close();
    };
    const mine = path.join(root, 'data');
    const other = path.join(root, 'other');
    await write(mine, 'USER', 10);
    await write(other, 'ALIEN', 4);
    const own = await runCli(['data', 'verify', '-d', mine]);
    expect(own.code, own.stderr).toBe(0);
    expect((await runCli(['archive', 'create', '-q', '-d', mine])).code).toBe(0);
    expect((await runCli(['data', 'verify', '-d', mine])).code).toBe(0);
    await fsp.copyFile(path.join(other, 'snapshot.jss'), path.join(mine, 'snapshot.jss'));
    const foreign = await runCli(['data', 'verify', '-d', mine, '--json']);
    expect(foreign.code).toBe(1);
    const report = JSON.parse(foreign.stdout) as { ok: boolean; problems: string[] };
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toMatch(/snapshot\.jss: its state is not the WAL's lines 1\.\.\d+ replayed: \d+ key\(s\) differ/);
  }, 60_000);
});
