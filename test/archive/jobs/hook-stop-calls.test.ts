/**
 * Calls from a function hook that wait for the archive run: db.archive.stopTriggers() and db.archive.close()
 * awaited in afterArchive waited for the run, which waited for the hook, until the hook's timeout, then said
 * HOOK_FAILED "did not settle" (a hint naming the wrong cause). They are refused at once, USAGE naming the
 * call and the hook, as idle() and db.close() are.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { outcome, until } from '../../support/settle.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-hook-stop-calls-');

describe('hook calls that would wait for the run the hook belongs to', () => {
  it('db.archive.stopTriggers() in a trigger run\'s afterArchive is USAGE at once; the run finishes without a hook error', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const answers: string[] = [];
    const finished: string[][] = [];
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          compression: { level: 1 },
          triggers: { walEntries: 1 },
          // Without the refusal the hook hangs: its timeout turns the hang into a failed test, not a stuck one.
          hooks: { afterArchive: { function: async () => void answers.push(await outcome(db!.archive.stopTriggers())), timeoutMs: 4000 } },
        },
      },
    });
    db.archive.on('finished', (r: { hookErrors: string[] }) => finished.push(r.hookErrors));
    const t0 = Date.now();
    await db.set('A', { v: 1 });
    await until(() => finished.length > 0);
    expect(answers).toEqual([expect.stringMatching(/^USAGE: db\.archive\.stopTriggers was called from inside the afterArchive hook/)]);
    expect(finished[0]).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(3500);
    await db.close();
    expect(db.isClosed).toBe(true);
  });

  it('db.archive.close() in afterArchive is USAGE at once; create resolves, and close() afterwards works', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const answers: string[] = [];
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: { compression: { level: 1 }, hooks: { afterArchive: { function: async () => void answers.push(await outcome(db!.archive.close())), timeoutMs: 4000 } } },
      },
    });
    await db.set('A', { v: 1 });
    const t0 = Date.now();
    const made = await db.archive.create();
    expect(answers).toEqual([expect.stringMatching(/^USAGE: db\.archive\.close was called from inside the afterArchive hook/)]);
    expect(made.hookErrors).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(3500);
    // The refusal stopped nothing: the archive API still answers, and close() from outside the hook closes.
    expect((await db.archive.list()).map((a) => a.manifest.archiveId)).toEqual([made.archiveId]);
    await db.close();
    expect(db.isClosed).toBe(true);
  });
});
