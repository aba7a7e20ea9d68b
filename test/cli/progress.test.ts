/**
 * What a person sees while an operation runs (issue 13, item 12): one label per phase, sizes in
 * human units on both sides, every phase by name, and movement within a WAL segment.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { PHASE_LABELS, PROGRESS_PHASES, type ProgressEvent } from '../../src/archive/package/progress.js';
import { ONE_SHOT_MAX } from '../../src/archive/package/compress-worker.js';
import { progressBar, progressLine } from '../../src/cli/progress.js';
import { formatBytes } from '../../src/cli/output.js';
import { createDB } from '../../src/db.js';
import { listSegments } from '../../src/store/layout.js';
import { REPO_ROOT } from '../support/child.js';
import { makeTempDir } from '../support/fixtures.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const ev = (e: Partial<ProgressEvent>): ProgressEvent => ({ operation: 'create', phase: 'wal', doneBytes: 0, totalBytes: 0, ...e });

/** A stream that says it is a terminal, keeping what is written to it. */
function fakeTerminal(): PassThrough & { isTTY: boolean; columns: number; text(): string } {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; columns: number; text(): string; cursorTo(): boolean; clearLine(): boolean; moveCursor(): boolean };
  let out = '';
  s.on('data', (d) => (out += d));
  Object.assign(s, { isTTY: true, columns: 160, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true, text: () => out });
  return s;
}

describe('the progress line', () => {
  it('shows done and total in human units on both sides, never a raw byte count', () => {
    const line = progressLine(ev({ doneBytes: 10 * MiB, totalBytes: 104_632_690 }));
    expect(line).toContain(`${formatBytes(10 * MiB)}/${formatBytes(104_632_690)}`);
    expect(line).toContain('10.0 MiB/99.8 MiB');
    expect(line).not.toMatch(/\d{5,}/);
    expect(progressLine(ev({ doneBytes: 512, totalBytes: 3 * 1024 ** 3 }))).toContain('512 B/3.00 GiB');
  });

  it('names the phase once (verify, not "verify verify")', () => {
    const line = progressLine(ev({ operation: 'verify', phase: 'verify', doneBytes: 1, totalBytes: 2, item: 'wal/000001.wal.zst' }));
    expect(line.match(/verify/g)).toHaveLength(1);
    expect(line.startsWith('verify ')).toBe(true);
  });

  it('every phase shows its name: verify, repair, write, fsync, validate, PAR2 and the others', () => {
    for (const phase of PROGRESS_PHASES) {
      expect(progressLine(ev({ phase, doneBytes: 5, totalBytes: 10 }))).toMatch(new RegExp(`^${PHASE_LABELS[phase]} `));
      expect(progressLine(ev({ phase }))).toMatch(new RegExp(`^${PHASE_LABELS[phase]}\\b`));
    }
    const names = (phases: ProgressEvent['phase'][]) => phases.map((phase) => progressLine(ev({ operation: 'restore', phase })));
    expect(names(['verify', 'repair', 'write', 'fsync', 'validate', 'recovery', 'restore'])).toEqual(['verify', 'repair', 'write', 'fsync', 'validate', 'PAR2', 'write']);
  });

  it('a phase without a size in bytes shows its name and item, without a bar or a percentage', () => {
    const line = progressLine(ev({ operation: 'restore', phase: 'fsync', item: 'wal/000002.wal' }));
    expect(line).toMatch(/^fsync +wal\/000002\.wal$/);
    expect(line).not.toMatch(/%|\[/);
  });

  it('the bar cli-progress draws on a terminal carries the same line: formatBytes for done and total', () => {
    const term = fakeTerminal();
    const bar = progressBar(true, term);
    expect(bar.listener).toBeDefined();
    bar.listener!(ev({ doneBytes: 10 * MiB, totalBytes: 104_632_690 }));
    bar.stop();
    expect(term.text()).toContain('WAL');
    expect(term.text()).toContain(`${formatBytes(10 * MiB)}/${formatBytes(104_632_690)}`);
    expect(term.text()).not.toContain('104632690');
  });

  it('no bar when the stream is not a terminal, or when asked for none', () => {
    const pipe = new PassThrough();
    expect(progressBar(true, pipe).listener).toBeUndefined();
    expect(progressBar(false, fakeTerminal()).listener).toBeUndefined();
  });
});

/** A data directory whose WAL is one segment of about `mib` MiB. */
async function bigSegment(mib: number): Promise<string> {
  const dataDir = path.join(await makeTempDir('bri-progress-'), 'data');
  made.push(path.dirname(dataDir));
  const db = await createDB({ storeConfig: { dataDir, fsyncMode: 'batched', walSegmentSize: 64 * MiB } });
  const body = 'x'.repeat(1000);
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < mib * 1024; i++) writes.push(db.set(`DOC_${i}`, { i, body }));
  await Promise.all(writes);
  await db.close();
  return dataDir;
}

describe('movement within a segment', () => {
  it('create reports the WAL as it is staged, at least every 256 KiB within one segment', async () => {
    const dataDir = await bigSegment(4);
    expect((await listSegments(dataDir)).filter((s) => s.size > 0)).toHaveLength(1);
    const events: ProgressEvent[] = [];
    await new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level: 1 } }).create({ onProgress: (e) => events.push(e) });
    const wal = events.filter((e) => e.phase === 'wal');
    const within = new Set(wal.filter((e) => e.doneBytes > 0 && e.doneBytes < e.totalBytes * 0.95).map((e) => e.doneBytes));
    // At least one report per 256 KiB staged, however fast the machine (not only when a time slice ends).
    expect(within.size).toBeGreaterThanOrEqual(Math.floor((wal[0]!.totalBytes * 0.95) / (256 * 1024)) - 1);
    for (let i = 1; i < wal.length; i++) expect(wal[i]!.doneBytes).toBeGreaterThanOrEqual(wal[i - 1]!.doneBytes);
  });

  it.skipIf(!hasScript())('bri archive create on a terminal draws the WAL phase once-labelled, in human units, moving', async () => {
    // A segment past ONE_SHOT_MAX is compressed as a stream, so the bar follows the compressor; a smaller one is
    // taken whole in one call, and under load its staging can end before the bar's first redraw.
    const dataDir = await bigSegment(ONE_SHOT_MAX / MiB + 2);
    // script(1) gives the CLI a pseudo-terminal, as a person's shell would.
    const cmd = `${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts archive create -d ${JSON.stringify(dataDir)} --level 19`;
    const out = execFileSync('script', ['-qefc', cmd, '/dev/null'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, timeout: 120_000 });
    const frames = out.split(/\r|\n|\x1b\[[0-9;]*[A-Za-z]/).filter((f) => /^WAL +\[/.test(f));
    expect(frames.length, out.slice(0, 2000)).toBeGreaterThanOrEqual(2);
    for (const f of frames) expect(f).toMatch(/\d+(\.\d+)? (B|KiB|MiB)\/\d+(\.\d+)? MiB/);
    expect(new Set(frames.map((f) => /\] +(\d+)%/.exec(f)?.[1])).size).toBeGreaterThanOrEqual(2);
    expect(out).toContain('created ');
  });
});

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
