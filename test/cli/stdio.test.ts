/**
 * Output written to a file that cannot take all of it (a file-size limit, a disk filling up): Node's
 * stdout to a file is one write() whose short count it ignores, so half a JSON document and exit 0 was
 * what a script got. Now: IO_ERROR naming standard output, saying the output is incomplete.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-stdio-');

/** Runs the CLI under `ulimit -f <blocks>` (512-byte blocks in sh) with stdout and stderr written to files. */
function runLimited(blocks: number, args: string[], outFile: string, errFile: string): Promise<number | null> {
  const cli = ['node', '--import', 'tsx', 'src/cli/main.ts', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `ulimit -f ${blocks} && exec ${cli} > '${outFile}' 2> '${errFile}'`], { cwd: REPO_ROOT, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

async function bigDataDir(): Promise<string> {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 40; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(200) });
  await db.close();
  return dataDir;
}

describe('standard output behind a file', () => {
  it('output cut short by a file-size limit is IO_ERROR naming standard output and saying it is incomplete, not exit 0 with half a document', async () => {
    const dataDir = await bigDataDir();
    const dir = path.dirname(dataDir);
    for (const json of [false, true]) {
      const out = path.join(dir, `out-${json}.json`);
      const err = path.join(dir, `err-${json}.txt`);
      const code = await runLimited(8, ['data', 'dump', '-d', dataDir, ...(json ? ['--json'] : [])], out, err);
      const stderr = fs.readFileSync(err, 'utf8');
      expect(code, stderr).toBe(1);
      expect(fs.statSync(out).size).toBe(4096);
      if (json) {
        const said = JSON.parse(stderr.trim()) as { error: { code: string; hint: string; details: Record<string, unknown> } };
        expect(said.error.code).toBe('IO_ERROR');
        expect(said.error.details).toMatchObject({ path: 'standard output', errno: 'EFBIG', written: 4096 });
        expect(said.error.hint).toMatch(/incomplete/);
        expect(said.error.hint).not.toMatch(/nothing half-written/);
      } else {
        expect(stderr).toMatch(/^error \[IO_ERROR\]: writing the output: EFBIG/m);
        expect(stderr).toMatch(/^hint: Standard output reached the file-size limit.*incomplete \(only its first 4096 bytes were written\)/m);
      }
    }
  }, 60_000);

  it('output that fits the limit is written whole, exit 0', async () => {
    const dataDir = await bigDataDir();
    const out = path.join(path.dirname(dataDir), 'out.json');
    const err = path.join(path.dirname(dataDir), 'err.txt');
    const code = await runLimited(1000, ['data', 'dump', '-d', dataDir], out, err);
    expect(code, fs.readFileSync(err, 'utf8')).toBe(0);
    expect(Object.keys((JSON.parse(fs.readFileSync(out, 'utf8')) as { documents: object }).documents)).toHaveLength(40);
  }, 60_000);
});
