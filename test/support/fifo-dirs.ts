/** Set-ups of the tests that put a FIFO where BRI keeps a regular file: each scenario runs in a child killed after WAIT. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { runScript } from './script-child.js';
import { REPO_ROOT } from './child.js';

/** The library's entry point, for the children's scripts. */
export const DB = path.join(REPO_ROOT, 'src/db.ts');
/** How long a child may take before it is taken as waiting for ever. */
export const WAIT = 20_000;

/** A data directory with a few lines, one archive (and its seed) and a line after it, closed. */
export async function dataDirWithArchive(dataDir: string): Promise<void> {
  const out = await runScript(
    `import { createDB } from ${JSON.stringify(DB)};
    const db = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)} } });
    for (let i = 0; i < 5; i++) await db.set('K' + i, { v: i });
    await db.archive.create(); await db.set('Y', { v: 1 }); await db.close();`,
    WAIT,
  );
  expect(out.code, out.stderr).toBe(0);
}

/** A FIFO in place of whatever `file` was. */
export function fifoAt(file: string): void {
  fs.rmSync(file, { force: true });
  execFileSync('mkfifo', [file]);
}
