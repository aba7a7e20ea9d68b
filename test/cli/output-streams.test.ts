/**
 * The CLI's output going nowhere: a reader that leaves early (`| head -1`, `| true`) is no failure and
 * no success either: the command runs to its end and exits with its own code (a FAILED verify stays
 * 22, the store it opened is closed); a full disk behind `> file` is an IO_ERROR said on stderr, not
 * a stack trace, and never exit 0.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT, tsNodeArgs } from '../support/child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-output-');
const CRASH = /internal error|Unhandled|\n\s+at [^\n]+:\d+:\d+/;

/** Runs the CLI with its stdout read end closed at once (the reader gone), or written to `stdoutFile`. */
function runWith(args: string[], stdout: 'closed' | string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const out = stdout === 'closed' ? 'pipe' : fs.openSync(stdout, 'w');
    const child = spawn(process.execPath, [...tsNodeArgs(), ...args], { cwd: REPO_ROOT, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: ['ignore', out, 'pipe'] });
    if (typeof out === 'number') fs.closeSync(out);
    else child.stdout!.destroy();
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('output streams that fail', () => {
  it('a FAILED verify whose reader left keeps exit 22; a restore keys dry run whose reader left releases the lock; a full disk behind stdout is IO_ERROR, not exit 0', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 50; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(200) });
    const a = await db.archive.create();
    await db.close();
    const bytes = fs.readFileSync(a.file);
    for (let at = 2048; at < bytes.length - 1024; at += 97) bytes[at] = bytes[at]! ^ 0xff;
    fs.writeFileSync(a.file, bytes);

    const verify = await runWith(['archive', 'verify', a.archiveId, '-d', dataDir, '--json'], 'closed');
    expect(verify.code, verify.stderr).toBe(22);

    const keys = await runWith(['restore', 'keys', 'K1', '-d', dataDir, '--at', new Date().toISOString(), '--dry-run', '-a', path.join(path.dirname(dataDir), 'none')], 'closed');
    expect(keys.stderr).not.toMatch(CRASH);
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);

    if (fs.existsSync('/dev/full')) {
      for (const json of [false, true]) {
        const full = await runWith(['data', 'stats', '-d', dataDir, ...(json ? ['--json'] : [])], '/dev/full');
        expect(full.code, full.stderr).toBe(1);
        expect(full.stderr).not.toMatch(CRASH);
        expect(full.stderr).toMatch(json ? /"code":"IO_ERROR"/ : /^error \[IO_ERROR\]: writing the output: ENOSPC/m);
      }
    } else console.warn('output-streams: /dev/full is missing: the full-disk case is skipped');
  }, 90_000);
});
