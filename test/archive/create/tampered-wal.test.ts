/**
 * What create refuses: a WAL whose hash chain does not hold (a value changed in place, a line whose
 * pointer was made to match it, a line that is not a WAL line) is never archived as if it were
 * whole. The error names the first line that breaks; nothing is left behind (no archive, no seed),
 * the WAL is untouched, and the archives made before stay restorable.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { computePointer } from '../../../src/format/pointer.js';
import { listSegments } from '../../../src/store/layout.js';
import { makeTempDir } from '../../support/fixtures.js';
import { runCli } from '../../support/cli.js';

/** A closed database of `n` SET lines (K0..K{n-1}), with a small segment size so that the WAL spans several segments. */
async function database(n: number, from = 0, dir?: string): Promise<string> {
  const dataDir = dir ?? path.join(await makeTempDir(), 'data');
  const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1500 } });
  for (let i = from; i < from + n; i++) await db.set(`K${i}`, { v: i });
  await db.close();
  return dataDir;
}

/** The WAL's lines with where each is (segment file, index in it), in order. */
async function walLines(dataDir: string): Promise<Array<{ file: string; index: number; text: string }>> {
  const out: Array<{ file: string; index: number; text: string }> = [];
  for (const s of await listSegments(dataDir)) {
    const lines = (await fsp.readFile(s.path, 'utf8')).split('\n');
    lines.forEach((text, index) => text !== '' && out.push({ file: s.path, index, text }));
  }
  return out;
}

async function rewrite(line: { file: string; index: number }, text: string): Promise<void> {
  const lines = (await fsp.readFile(line.file, 'utf8')).split('\n');
  lines[line.index] = text;
  await fsp.writeFile(line.file, lines.join('\n'));
}

/** Whatever is in the archive directory: archive files and seeds. */
async function archived(dataDir: string): Promise<string[]> {
  const dir = path.join(dataDir, 'archives');
  const top = await fsp.readdir(dir).catch(() => [] as string[]);
  const seeds = await fsp.readdir(path.join(dir, '.seeds')).catch(() => [] as string[]);
  return [...top.filter((f) => f.endsWith('.bri')), ...seeds];
}

/** Create refuses, naming `line`; nothing is archived and no line of the WAL changes (the seal may only start a new empty segment). */
async function refused(dataDir: string, line: number): Promise<void> {
  const before = (await walLines(dataDir)).map((l) => l.text);
  const err = await new ArchiveApi(offlineHost(dataDir, undefined)).create().catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'WAL_CORRUPTED' });
  expect((err as Error).message).toContain(`(global line ${line})`);
  expect(await archived(dataDir)).toEqual([]);
  // Nothing staged is left: every compression still running when the break was found was let finish first.
  expect(await fsp.readdir(path.join(dataDir, 'archives', '.tmp')).catch(() => [])).toEqual([]);
  expect((await walLines(dataDir)).map((l) => l.text)).toEqual(before);
}

describe('create refuses a WAL whose chain does not hold', () => {
  it('a value changed in place: refused at that line, nothing archived, the WAL unchanged', async () => {
    const dataDir = await database(60);
    const lines = await walLines(dataDir);
    const target = lines[29]!;
    await rewrite(target, target.text.replace('\\"v\\":29', '\\"v\\":92'));
    await refused(dataDir, 30);
    // The CLI says it with its exit code and the line.
    const cli = await runCli(['archive', 'create', '-d', dataDir]);
    expect(cli.code).toBe(13);
    expect(cli.stderr).toContain('pointer mismatch');
    expect(await archived(dataDir)).toEqual([]);
  });

  it("a line whose pointer was made to match its new value: the next line's link breaks", async () => {
    const dataDir = await database(60);
    const lines = await walLines(dataDir);
    const [ts, , ...rest] = lines[29]!.text.split('|');
    const entry = rest.join('|').replace('\\"v\\":29', '\\"v\\":92');
    const prevPointer = lines[28]!.text.split('|')[1]!;
    await rewrite(lines[29]!, `${ts}|${computePointer(prevPointer, entry)}|${entry}`);
    await refused(dataDir, 31);
  });

  it('a break in an early segment while later ones are being compressed: the refusal, never an I/O error of the cleanup (repeated)', async () => {
    for (let round = 0; round < 6; round++) {
      const dataDir = await database(300);
      const lines = await walLines(dataDir);
      const at = 12 + round * 7; // in the first segments; many follow
      await rewrite(lines[at]!, lines[at]!.text.replace(/\\"v\\":(\d+)/, '\\"v\\":-7'));
      await refused(dataDir, at + 1);
    }
  });

  it('two breaks in one segment, the later one a line that is not a WAL line: the first is named', async () => {
    const dataDir = await database(60);
    const lines = await walLines(dataDir);
    const file = lines[30]!.file;
    const inIt = lines.map((l, i) => ({ ...l, at: i })).filter((l) => l.file === file);
    expect(inIt.length).toBeGreaterThan(6);
    const early = inIt[2]!;
    const late = inIt[5]!;
    await rewrite(early, early.text.replace(/\\"v\\":(\d+)/, '\\"v\\":-3'));
    await rewrite(late, 'not a wal line');
    await refused(dataDir, early.at + 1);
  });

  it('a line that is not a WAL line, in the middle of a segment: WAL_CORRUPTED (exit 13, as the store says it) naming the file and the line', async () => {
    const dataDir = await database(60);
    const lines = await walLines(dataDir);
    await rewrite(lines[40]!, 'not a wal line');
    await refused(dataDir, 41);
    const cli = await runCli(['archive', 'create', '-d', dataDir]);
    expect(cli.code).toBe(13);
    const at = lines[40]!.index + 1;
    expect(cli.stderr).toContain(`error [WAL_CORRUPTED]: cannot archive: wal/${path.basename(lines[40]!.file)} line ${at} (global line 41): line does not parse`);
  });

  it('a line whose link holds but whose entry is no operation: WAL_CORRUPTED naming that line, not the next link', async () => {
    const dataDir = await database(60);
    const lines = await walLines(dataDir);
    const [ts] = lines[29]!.text.split('|');
    const entry = '{"action":"NOPE","target":"K29"}';
    await rewrite(lines[29]!, `${ts}|${computePointer(lines[28]!.text.split('|')[1]!, entry)}|${entry}`);
    await refused(dataDir, 30);
  });

  it('damage after an archive: only the new lines are read and refused; the archive before stays restorable', async () => {
    const dataDir = await database(40);
    const first = await new ArchiveApi(offlineHost(dataDir, undefined)).create();
    await database(30, 40, dataDir);
    const lines = await walLines(dataDir);
    const target = lines[lines.length - 5]!; // among the 30 new lines
    await rewrite(target, target.text.replace(/\\"v\\":(\d+)/, '\\"v\\":-1'));
    const err = await new ArchiveApi(offlineHost(dataDir, undefined)).create().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPTED' });
    expect((await archived(dataDir)).filter((f) => f.endsWith('.bri'))).toEqual([`${first.archiveId}.bri`]);
    const target2 = path.join(path.dirname(dataDir), 'restored');
    const r = await openRestore({ dataDir }).fromLatest({ targetDir: target2 });
    expect(r.lastLine).toBe(40);
  });
});
