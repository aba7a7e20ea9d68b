/**
 * bri-archive.json's last.endLine not the end of that archive: create blamed the data directory ("not the
 * directory those archives were made from"), quoted the archive's end as the file's number, and hinted at a
 * restore that drops the lines no archive holds yet. With the archive here, its manifest is taken and the
 * disagreement said; with it only on a remote, the refusal names the state file.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { fixturesPresent } from '../../support/fixtures.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { archivedThenWritten, editState, type StateFile } from './support/state-file.js';

const tmp = useTempDirs('bri-state-last-');

describe.runIf(fixturesPresent())('a bri-archive.json whose last.endLine disagrees with the archive', () => {
  it('the archive here: its manifest is taken (said as the state file disagreeing with it), lines 761..770 are archived, and the file is right again', async () => {
    const dataDir = await archivedThenWritten();
    await editState(dataDir, (s) => (s.last.endLine = 99999));
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain('bri-archive.json disagrees with the manifest of its last archive');
    expect(made.stderr).toContain('last.endLine 99999, the manifest 760');
    expect(made.stdout).toMatch(/lines\s+761\.\.770/);
    const state = JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as StateFile;
    expect(state.last.endLine).toBe(770);
  });

  it('the archive only on a remote: refused naming bri-archive.json as disagreeing with the WAL, not the data directory as another one', async () => {
    const root = await tmp();
    const config = path.join(root, 'bri.json');
    await fsp.mkdir(path.join(root, 'nas'));
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: path.join(root, 'nas') }] }));
    const dataDir = await archivedThenWritten(config);
    const s = await editState(dataDir, (st) => (st.last.endLine = 99999));
    await fsp.rm(path.join(dataDir, 'archives', `${s.last.archiveId}.bri`));
    const made = await runCli(['archive', 'create', '-d', dataDir, '-c', config]);
    expect(made.code).toBe(23);
    expect(made.stderr).toContain('bri-archive.json disagrees with the WAL');
    expect(made.stderr).toContain("is wal/'s line 760");
    expect(made.stderr).not.toContain('it is not the directory those archives were made from');
    expect(made.stderr).not.toContain('bri restore latest');
  });
});
