/**
 * Archives made before manifests said `timesBack` (da6346a and earlier) recorded a WAL whose times go
 * back with raw times: an inverted range (start > end), the next archive starting at the raw time of the
 * line before it. Every reader takes them at effective times (the running maximum), as a new archive.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openOfflineArchive, openOfflineRestore } from '../../src/archive/offline.js';
import { formatChecksums, parseChecksums } from '../../src/format/checksums.js';
import { decodeJss, encodeJss } from '../../src/format/jss.js';
import { CHECKSUMS_MEMBER, MANIFEST_MEMBER, type Manifest } from '../../src/format/manifest.js';
import type { Operation } from '../../src/format/operation.js';
import { BriStore } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { buildTar, tarLayout, tarMembers } from '../support/hostile-tar.js';
import { appendLinesAt, setOp } from '../support/bri-lines.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-times-back-old-');
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

const appendLines = (file: string, prev: string, lines: Array<[number, Operation]>): string => appendLinesAt(T0, file, prev, lines);
const set = setOp;

/**
 * Rewrites an archive's manifest as the previous version wrote it: no `timesBack`, the range ending at
 * the last line's own time, starting at `rawStart` (the raw time of the line before it); checksums follow.
 */
function makeOldStyle(file: string, rawStart: number | null): void {
  const tar = fs.readFileSync(file);
  const members = tarMembers(tar);
  const m = decodeJss<Manifest>(members.get(MANIFEST_MEMBER)!.toString('utf8'));
  for (const s of m.contents.segments) delete s.timesBack;
  m.timeRange.end = new Date(m.contents.segments.at(-1)!.lastTimestamp!);
  if (rawStart !== null) m.timeRange.start = new Date(rawStart);
  const text = Buffer.from(encodeJss(m), 'utf8');
  members.set(MANIFEST_MEMBER, text);
  const sums = parseChecksums(members.get(CHECKSUMS_MEMBER)!.toString('utf8'));
  sums.set(MANIFEST_MEMBER, createHash('sha256').update(text).digest('hex'));
  members.set(CHECKSUMS_MEMBER, Buffer.from(formatChecksums([...sums]), 'utf8'));
  const names = tarLayout(tar).members.map((x) => x.name);
  fs.writeFileSync(file, buildTar(names.map((name) => ({ name, data: members.get(name)! }))));
}

describe('archives made before timesBack, of a WAL whose times go back', () => {
  it('restore to T, show --at T, history and the listed ranges take their lines at effective times', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(dataDir, 'wal'), { recursive: true });
    const configFile = path.join(root, 'archive.json');
    fs.writeFileSync(configFile, JSON.stringify({ errorCorrection: { enabled: false } }));
    // Line times 2000, 5000 | 1000 | 4000, 6000 (ms after T0): effective 2000, 5000 | 5000 | 5000, 6000. The step back
    // is between two segments, where a manifest of the previous version shows it (one inside a member it never recorded).
    const head = appendLines(path.join(dataDir, 'wal', '000000.wal'), '', [
      [2000, set('A', 'v1')],
      [5000, set('B', 'b1')],
    ]);
    const last = appendLines(path.join(dataDir, 'wal', '000001.wal'), head, [[1000, set('A', 'v3')]]);
    const archive = await openOfflineArchive({ dataDir, purpose: 'test', configFile });
    const first = await archive.create();
    expect(first.manifest.contents.segments).toHaveLength(2);
    const segs = fs.readdirSync(path.join(dataDir, 'wal')).sort();
    appendLines(path.join(dataDir, 'wal', segs.at(-1)!), last, [
      [4000, set('A', 'v4')],
      [6000, set('A', 'v5')],
    ]);
    const second = await archive.create();
    // As the previous version wrote them: 2000..1000, then 1000..6000.
    makeOldStyle(first.file, null);
    makeOldStyle(second.file, T0 + 1000);

    const restore = await openOfflineRestore({ dataDir });
    const listed = await restore.list();
    expect(listed.ranges.map((r) => [r.start.getTime() - T0, r.end.getTime() - T0 <= 6000 ? r.end.getTime() - T0 : 'sealed'])).toEqual([[2000, 'sealed']]);
    expect(listed.archives.map((a) => [a.manifest.timeRange.start.getTime() - T0, a.manifest.timeRange.end.getTime() - T0])).toEqual([
      [2000, 5000],
      [5000, 6000],
    ]);
    const history = await restore.history('A');
    expect(history.entries.map((e) => [e.line, e.timestamp - T0])).toEqual([
      [1, 2000],
      [3, 5000],
      [4, 5000],
      [5, 6000],
    ]);
    const expected: Array<[number, number | null, string | null, string | null]> = [
      [1500, null, null, null],
      [3000, 1, '{"v":"v1"}', null],
      [4500, 1, '{"v":"v1"}', null],
      [5500, 4, '{"v":"v4"}', '{"v":"b1"}'],
      [6000, 5, '{"v":"v5"}', '{"v":"b1"}'],
    ];
    for (const [at, line, a, b] of expected) {
      const T = T0 + at;
      if (line === null) {
        // Before the first line: nothing held it (the second archive's raw start said it did).
        await expect(restore.toTimestamp(T, { targetDir: path.join(root, `at-${at}`) })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
        continue;
      }
      const target = path.join(root, `at-${at}`);
      const restored = await restore.toTimestamp(T, { targetDir: target });
      expect([at, restored.lastLine]).toEqual([at, line]);
      const store = await BriStore.open({ dataDir: target, snapshotOnClose: false, createIfMissing: false });
      const got = [store.getRaw('A') ?? null, store.getRaw('B') ?? null];
      await store.close();
      expect([at, ...got]).toEqual([at, a, b]);
      const shown = [(await restore.read('A', { at: T })).document, (await restore.read('B', { at: T })).document];
      expect([at, ...shown]).toEqual([at, a, b]);
    }
    // The command line, in a fresh process, reads them the same way.
    const cli = await runCli(['restore', 'to-timestamp', new Date(T0 + 1500).toISOString(), '-d', dataDir, '--target', path.join(root, 'cli-1500'), '--json']);
    expect(cli.code, cli.stderr).not.toBe(0);
    expect(cli.stderr + cli.stdout).toMatch(/TIMESTAMP_NOT_FOUND/);
    const shown = await runCli(['archive', 'show', 'A', '--at', new Date(T0 + 4500).toISOString(), '-d', dataDir, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout).document).toBe('{"v":"v1"}');
  });
});
