/**
 * A restore of an archive that holds the state alone (no WAL line) leaves wal/ empty, and the next line
 * is chained from '' (45a706b: archive create takes it and records prevPointer ''). The readers after
 * it take it too: `archive verify --all` does not call the two archives a broken chain.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { encodeSnapshot } from '../../../src/format/snapshot-file.js';
import { recover } from '../../../src/store/recovery.js';
import { appendLinesAt, setOp } from '../../support/bri-lines.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-restart-');
const T0 = Date.UTC(2025, 0, 1);

/** A BRI directory whose first segment was removed and the snapshot's walLine lowered to 0: its first archive holds the state alone. */
async function stateOnlyArchived(root: string): Promise<{ dataDir: string; archiveDir: string }> {
  const dataDir = path.join(root, 'data');
  const archiveDir = path.join(dataDir, 'archives');
  await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
  const seg0 = path.join(dataDir, 'wal', '000000.wal');
  const prev = appendLinesAt(T0, seg0, '', [0, 1, 2, 3].map((i) => [i, setOp(`K${i}`, `v${i}`)]));
  appendLinesAt(T0, path.join(dataDir, 'wal', '000001.wal'), prev, [[10, setOp('K4', 'v4')]]);
  const { state } = await recover(dataDir, { untilLine: 4 });
  await fsp.rm(seg0);
  await fsp.writeFile(path.join(dataDir, 'snapshot.jss'), encodeSnapshot({ version: 2, walLine: 0, timestamp: T0 + 3, state }));
  expect((await runCli(['archive', 'create', '-d', dataDir])).code).toBe(0);
  return { dataDir, archiveDir };
}

async function writeNew(dataDir: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('NEW', { n });
  await db.close();
}

async function verifyAll(dataDir: string): Promise<void> {
  const verified = await runCli(['archive', 'verify', '--all', '-d', dataDir]);
  expect(verified.stdout).not.toContain('FAILED');
  expect(verified.code).toBe(0);
}

/** Archives the data directory: a run that says nothing and succeeds. */
async function archiveNow(dataDir: string): Promise<void> {
  const made = await runCli(['archive', 'create', '-d', dataDir]);
  expect(made.stderr).toBe('');
  expect(made.code).toBe(0);
}

describe('the readers of a chain restarted from the empty pointer after a state-only restore', () => {
  it('verify --all passes the archive that starts the chain again from the empty pointer, and the one after it', async () => {
    const root = await tmp();
    const { dataDir } = await stateOnlyArchived(root);
    expect((await runCli(['restore', 'latest', '-d', dataDir, '--force'])).code).toBe(0);
    await writeNew(dataDir, 1);
    await archiveNow(dataDir);
    await verifyAll(dataDir);
    await writeNew(dataDir, 2);
    await archiveNow(dataDir);
    await verifyAll(dataDir);
  }, 180_000);
});
