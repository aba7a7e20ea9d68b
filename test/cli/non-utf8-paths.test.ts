/**
 * A path that is not valid UTF-8 reaches Node with U+FFFD in place of its bad bytes: another path than
 * the one given, and two such names one path. `archive download ID $'x\xffy.bri'` wrote x?y.bri and exit
 * 0; a restore to $'t\xfe' then one to $'t\xff' went to the same directory. Now USAGE before anything runs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-non-utf8-');

/** Runs the CLI through sh, so that `$(printf '\377')` gives the raw byte (a JS string argument cannot). */
function runSh(script: string, cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const cli = `node --import ${JSON.stringify(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs'))} ${JSON.stringify(path.join(REPO_ROOT, 'src/cli/main.ts'))}`;
    const child = spawn('/bin/sh', ['-c', script.replace('@bri', cli)], { cwd, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('paths that are not valid UTF-8', () => {
  it('a download file, a restore target, a data directory or $BRI_DATA_DIR not valid UTF-8 is USAGE, and nothing is written elsewhere', async () => {
    const dir = await tmp();
    const db = await createDB({ storeConfig: { dataDir: path.join(dir, 'd') } });
    await db.set('A', { a: 1 });
    const { archiveId } = await db.archive.create();
    await db.close();
    const before = fs.readdirSync(dir).sort();
    for (const script of [
      `@bri archive download ${archiveId} "$(printf 'x\\377y.bri')" -d d --json`,
      `@bri restore latest -d d --target "$(printf 't\\376')" --json`,
      `@bri data stats -d "$(printf 'd\\377')" --json`,
      `BRI_DATA_DIR="$(printf 'd\\377')" @bri data stats --json`,
    ]) {
      const r = await runSh(script, dir);
      expect(r.code, `${script}: ${r.stderr}`).toBe(2);
      const said = JSON.parse(r.stderr.trim()) as { error: { code: string; message: string; hint: string } };
      expect(said.error.code).toBe('USAGE');
      expect(said.error.message).toMatch(/not valid UTF-8/);
      expect(said.error.hint).toMatch(/rename it, or give the path through a link with a UTF-8 name/);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  }, 60_000);
});
