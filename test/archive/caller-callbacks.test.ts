/**
 * A caller's callback that throws or rejects never fails the run it watches: verify, verifyAll, download and
 * upload went on failing with the application's own error (a download said "no good copy", as if damaged).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-caller-callbacks-');

describe("callbacks that throw, given to db.archive's reading calls", () => {
  it('verify, verifyAll, download and upload finish and answer as without them; each throw is a BRI_LISTENER_ERROR warning', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    fs.mkdirSync(nas);
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? '');
    process.on('warning', onWarning);
    try {
      await db.set('A', { v: 1 });
      const made = await db.archive.create();
      const boom = () => {
        throw new Error('bug in my progress bar');
      };
      const boomAsync = async () => {
        throw new Error('bug in my async progress bar');
      };
      expect((await db.archive.verify(made.archiveId, { onProgress: boom })).ok).toBe(true);
      expect((await db.archive.verify(made.archiveId, { onProgress: boomAsync })).ok).toBe(true);
      const all = await db.archive.verifyAll({ onProgress: boom, onVerified: boom });
      expect(all.archives.every((a) => a.ok)).toBe(true);
      const out = path.join(r, 'copy.bri');
      const got = await db.archive.download(made.archiveId, out, { onProgress: boom, onProblem: boom });
      expect(fs.statSync(got.file).size).toBe(fs.statSync(made.file).size);
      await db.archive.upload({ onProgress: boom, onUpload: boom });
      await new Promise((res) => setImmediate(res));
      expect(warnings.filter((w) => w === 'BRI_LISTENER_ERROR').length).toBeGreaterThan(3);
    } finally {
      process.off('warning', onWarning);
      await db.close();
    }
  });
});
