/**
 * `bri data verify` decodes each WAL line as the store's replay does: a line the replay refuses, or a plaintext
 * entry that is no object, is corruption naming its line, never OK and never "encrypted, not checked".
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computePointer } from '../../src/format/pointer.js';
import { verifyDataDir } from '../../src/store/verify-data-dir.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-verify-lines-');

/** A data directory whose WAL holds these entries, as written, chained from line 1 (`torn`: no newline after the last). */
async function walOf(entries: string[], opts: { torn?: boolean } = {}): Promise<string> {
  const dataDir = path.join(await tmp(), 'data');
  await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
  let prev = '';
  const lines = entries.map((e, i) => {
    prev = computePointer(prev, e);
    return `${1764000000000 + i}|${prev}|${e}`;
  });
  await fsp.writeFile(path.join(dataDir, 'wal', '000000.wal'), lines.join('\n') + (opts.torn ? '' : '\n'));
  return dataDir;
}

const GOOD = JSON.stringify({ action: 'SADD', target: 'S', member: 'a' });

describe('bri data verify decodes every WAL line as the store\'s replay does', () => {
  const refused: Array<[string, object]> = [
    ['an SADD whose member is a number', { action: 'SADD', target: 'S', member: 5 }],
    ['an unknown action', { action: 'FOO' }],
    ['a SET whose value is an object', { action: 'SET', target: 'USER_1', value: { n: 1 } }],
    ['a RENAME without oldKey', { action: 'RENAME', target: 'USER_2' }],
  ];
  for (const [what, op] of refused) {
    it(`${what} is WAL_CORRUPTED naming wal/000000.wal line 2, though its pointer is right`, async () => {
      const report = await verifyDataDir(await walOf([GOOD, JSON.stringify(op)]));
      expect(report.ok).toBe(false);
      expect(report.chain.firstBreak).toMatchObject({ segment: '000000.wal', segmentLine: 2, reason: 'not-an-operation' });
      expect(report.problems[0]).toMatch(/^wal\/000000\.wal line 2 \(global line 2\): .*WAL_CORRUPTED/);
    });
  }

  it('the CLI fails naming the line, as the open and archive create refuse it', async () => {
    const dataDir = await walOf([GOOD, JSON.stringify({ action: 'SADD', target: 'S', member: 5 })]);
    const v = await runCli(['data', 'verify', '-d', dataDir]);
    expect(v.code).not.toBe(0);
    expect(v.stderr).toContain('wal/000000.wal line 2 (global line 2)');
    expect(v.stderr).toContain('WAL_CORRUPTED');
    expect(v.stderr).toContain('"member" must be a string');
  }, 60_000);

  it('a plaintext entry that is no object ([1,2]) is a corrupt line, not an encrypted one: verify, dump and stats say so', async () => {
    const dataDir = await walOf(['[1,2]']);
    const v = await runCli(['data', 'verify', '-d', dataDir]);
    expect(v.code).not.toBe(0);
    expect(v.stdout + v.stderr).not.toContain('NOT checked');
    expect(v.stderr).toContain('wal/000000.wal line 1 (global line 1): entry is no operation the store accepts (WAL_CORRUPTED)');
    const dump = await runCli(['data', 'dump', '-d', dataDir]);
    expect(dump.code).toBe(13);
    expect(dump.stderr).toContain('WAL_CORRUPTED');
    expect(dump.stderr).not.toContain('ENCRYPTION_KEY_MISSING');
    const stats = await runCli(['data', 'stats', '-d', dataDir, '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({ encrypted: false, invalidLines: 1 });
  }, 60_000);

  it('an unterminated last line the decoder refuses is a torn write, tolerated as recovery tolerates it', async () => {
    const report = await verifyDataDir(await walOf([GOOD, '{"action":"SADD","target":"S","mem'], { torn: true }));
    expect(report.ok, report.problems.join('\n')).toBe(true);
    expect(report.chain.tornTail).toMatchObject({ lineNo: 2, segment: '000000.wal' });
    const refusedTail = await verifyDataDir(await walOf([GOOD, JSON.stringify({ action: 'FOO', target: 'x' })], { torn: true }));
    expect(refusedTail.ok).toBe(true);
    expect(refusedTail.chain.tornTail).toMatchObject({ lineNo: 2 });
  });
});
