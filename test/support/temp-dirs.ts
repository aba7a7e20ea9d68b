/** Temporary directories a test file makes, removed after its last test. */
import * as fsp from 'node:fs/promises';
import { afterAll } from 'vitest';
import { makeTempDir } from './fixtures.js';

/** Call at the top of a test file: the returned function makes a new directory under the OS temp dir. */
export function useTempDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made) await fsp.rm(d, { recursive: true, force: true });
  });
  return async () => {
    const d = await makeTempDir(prefix);
    made.push(d);
    return d;
  };
}
