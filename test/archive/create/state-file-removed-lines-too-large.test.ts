/**
 * bri-archive.json's removedLines past the last archive's end while that archive's last line is still in wal/:
 * create exited 0 and said lines "no longer in wal/" were in no archive (lines that were in wal/, or never
 * existed), a gap for good. Now it is refused naming the file and the count the WAL shows.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { fixturesPresent } from '../../support/fixtures.js';
import { archivedThenWritten, editState } from './support/state-file.js';

describe.runIf(fixturesPresent())('a bri-archive.json whose removedLines is too large', () => {
  it('refused naming bri-archive.json and the right count, no gap said; set as the hint says, the next create archives lines 761..770 with no gap', async () => {
    const dataDir = await archivedThenWritten();
    await editState(dataDir, (s) => (s.removedLines = 5000));
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(23);
    expect(made.stderr).toContain(`${path.join(dataDir, 'bri-archive.json')} is wrong: it says 5000 lines were removed`);
    expect(made.stderr).toContain('hint: Set "removedLines": 0 in');
    expect(made.stderr).not.toContain('in no archive');

    await editState(dataDir, (s) => (s.removedLines = 0));
    const again = await runCli(['archive', 'create', '-d', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/lines\s+761\.\.770/);
    expect(again.stderr).not.toContain('in no archive');
  });
});
