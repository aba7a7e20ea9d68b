/**
 * A closed WAL segment whose last line is whole (it parses and the next line chains from it) but has
 * no newline after it: `bri data verify` and the store's open take it as a line, and so does create,
 * which archives it with its newline. A last line that does not parse, or does not chain, is still
 * refused, naming it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { listSegments } from '../../../src/store/layout.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-unterminated-');

/** A closed database of 30 keys over several segments, its first segment's last newline cut off; returns the data directory and that line's global number. */
async function unterminatedFirstSegment(): Promise<{ dataDir: string; line: number; first: string }> {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1500 } });
  for (let i = 0; i < 30; i++) await db.set(`K${i}`, { v: i });
  await db.close();
  const segs = await listSegments(dataDir);
  expect(segs.length).toBeGreaterThan(2);
  const first = segs[0]!.path;
  const text = await fsp.readFile(first, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  await fsp.writeFile(first, text.slice(0, -1));
  return { dataDir, line: text.split('\n').length - 1, first };
}

async function restoredEqualsData(dataDir: string): Promise<void> {
  const target = path.join(path.dirname(dataDir), 'restored');
  await openRestore({ dataDir, archiveDir: path.join(dataDir, 'archives') }).fromLatest({ targetDir: target });
  expect(toPlainState((await recover(target)).state)).toEqual(toPlainState((await recover(dataDir)).state));
}

describe('a closed segment whose last line has no newline', () => {
  it('whole and chained: data verify says OK and create archives it (CLI), the line with its newline; the archive restores to the data', async () => {
    const { dataDir } = await unterminatedFirstSegment();
    expect((await runCli(['data', 'verify', '-d', dataDir])).code).toBe(0);
    const cli = await runCli(['archive', 'create', '-d', dataDir]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    await restoredEqualsData(dataDir);
    // Every member holds whole lines: the restored WAL's segments each end with a newline.
    const target = path.join(path.dirname(dataDir), 'restored');
    for (const s of await listSegments(target)) {
      const text = await fsp.readFile(s.path, 'utf8');
      if (text.length > 0) expect(text.endsWith('\n')).toBe(true);
    }
  });

  it('whole and chained, in process: db.archive.create archives it while the database is open and written to', async () => {
    const { dataDir } = await unterminatedFirstSegment();
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      await db.set('NEW', { x: 1 });
      const made = await db.archive.create();
      expect(made.manifest.timeRange.walLines.end).toBe(31);
    } finally {
      await db.close();
    }
    await restoredEqualsData(dataDir);
  });

  it('a last line that does not parse, with lines after it: still refused, naming it', async () => {
    const { dataDir, line, first } = await unterminatedFirstSegment();
    const text = await fsp.readFile(first, 'utf8');
    await fsp.writeFile(first, text.slice(0, -5));
    const err = await new ArchiveApi(offlineHost(dataDir, undefined)).create().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPTED' });
    expect((err as Error).message).toContain(`line ${line}`);
  });

  it('a last line that parses but does not chain: still refused, naming it', async () => {
    const { dataDir, line, first } = await unterminatedFirstSegment();
    const text = await fsp.readFile(first, 'utf8');
    // Another value, same length: the line parses, its pointer is no longer the hash of its entry.
    const lines = text.split('\n');
    const last = lines[lines.length - 1]!;
    lines[lines.length - 1] = last.replace(/\\"v\\":(\d)/, (m, d: string) => m.slice(0, -1) + String((Number(d) + 1) % 10));
    const changed = lines.join('\n');
    expect(changed).not.toBe(text);
    await fsp.writeFile(first, changed);
    const err = await new ArchiveApi(offlineHost(dataDir, undefined)).create().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPTED' });
    expect((err as Error).message).toContain(`(global line ${line})`);
    expect((err as Error).message).toContain('pointer mismatch');
  });
});
