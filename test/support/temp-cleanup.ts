/**
 * Removes, after each test file, the temp directories its tests made with `makeTempDir`: a run of
 * the suite used to leave hundreds of them in the OS temp directory. Set BRI_KEEP_TEST_TMP=1 to
 * keep them for a look after a failure.
 */
import * as fsp from 'node:fs/promises';
import { afterAll } from 'vitest';
import { takeTempDirs } from './fixtures.js';

afterAll(async () => {
  const dirs = takeTempDirs();
  if (process.env.BRI_KEEP_TEST_TMP === '1') return;
  // Best effort: a directory a test's child process still writes into is not a failure of the file.
  await Promise.all(dirs.map((d) => fsp.rm(d, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined)));
});
