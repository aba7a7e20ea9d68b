/**
 * An option that names one path given twice (`-d A -d B`) silently took the last: now USAGE naming both.
 * `archive download ID -` wrote a file named "-" (a script meant standard output): now USAGE.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-single-value-');

/** The CLI run in `cwd` (a file named "-" must not land in the repository). */
function runIn(cwd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs'), path.join(REPO_ROOT, 'src/cli/main.ts'), ...args], { cwd, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('single-value options', () => {
  it('-d, --target, -a, --config or --identity given twice is USAGE naming both values, before anything runs', async () => {
    const dir = await tmp();
    const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
    const cases: Array<[string[], string]> = [
      [['data', 'stats', '-d', a, '-d', b], '--data-dir'],
      [['data', 'stats', '--data-dir', a, `--data-dir=${b}`], '--data-dir'],
      [['restore', 'latest', '-d', a, '--target', a, '-t', b], '--target'],
      [['archive', 'list', '-d', a, '-a', a, '-a', b], '--archive-dir'],
      [['restore', 'keys', 'K', '--at', '2020-01-01T00:00:00Z', '-d', a, '-a', a, '-a', b], '--archive-dir'],
      [['archive', 'list', '-d', a, '-c', a, '--config', b], '--config'],
      [['restore', 'latest', '-d', a, '-i', a, '-i', b], '--identity'],
    ];
    for (const [args, flag] of cases) {
      const r = await runCli([...args, '--json']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      const said = JSON.parse(r.stderr.trim()) as { error: { code: string; message: string } };
      expect(said.error).toMatchObject({ code: 'USAGE', message: `${flag} is given twice (${JSON.stringify(a)} and ${JSON.stringify(b)})` });
    }
    expect(fs.existsSync(a) || fs.existsSync(b)).toBe(false);
  }, 90_000);

  it('archive download ID - is USAGE, and no file named "-" is written', async () => {
    const dir = await tmp();
    const db = await createDB({ storeConfig: { dataDir: path.join(dir, 'd') } });
    await db.set('A', { a: 1 });
    const { archiveId } = await db.archive.create();
    await db.close();
    const r = await runIn(dir, ['archive', 'download', archiveId, '-', '-d', 'd']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error \[USAGE\]: <file> is "-": an archive copy is written to a file, not to standard output$/m);
    expect(fs.existsSync(path.join(dir, '-'))).toBe(false);
    const named = await runIn(dir, ['archive', 'download', archiveId, './-', '-d', 'd']);
    expect(named.code, named.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, '-'))).toBe(true);
  }, 60_000);
});
