/**
 * What a function hook only scheduled (setImmediate, as the refusal's hint says; a timer; a write that starts
 * a walEntries run) runs after the hook, and nothing waits for it: it must not be refused as a call from inside
 * the hook. Refused, it made the hint's own advice fail, kept an onError from closing the database, and stopped
 * archiving silently (the scheduler's run was refused before any event).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { outcome, until } from '../../support/settle.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-hook-deferred-');

describe('work a function hook schedules for after it returns', () => {
  it('a prune in setImmediate and a create in a timer set by afterArchive both run (not USAGE "inside the afterArchive hook")', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const answers: string[] = [];
    let scheduled = 0;
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          compression: { level: 1 },
          hooks: {
            afterArchive: () => {
              if (answers.length > 0 || scheduled++ > 0) return;
              setImmediate(() => void outcome(db!.archive.prune({ dryRun: true })).then((a) => answers.push(`prune ${a}`)));
              setTimeout(() => void outcome(db!.set('B', { v: 2 }).then(() => db!.archive.create())).then((a) => answers.push(`create ${a}`)), 50);
            },
          },
        },
      },
    });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await until(() => answers.length === 2);
    expect(answers.sort()).toEqual(['create ok', 'prune ok']);
    await db.close();
  });

  it('db.close() scheduled by onError closes the database', async () => {
    const dataDir = path.join(await tmp(), 'data');
    let closed: string | null = null;
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          compression: { level: 1 },
          hooks: {
            beforeArchive: () => {
              throw new Error('not now');
            },
            onError: () => {
              setTimeout(() => void outcome(db!.close()).then((a) => (closed = a)), 20);
            },
          },
        },
      },
    });
    await db.set('A', { v: 1 });
    await expect(db.archive.create()).rejects.toMatchObject({ code: 'HOOK_FAILED' });
    await until(() => closed !== null);
    expect(closed).toBe('ok');
    expect(db.isClosed).toBe(true);
  });

  it('lines written by a timer afterArchive set still fire the walEntries trigger: a second archive is made', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const events: string[] = [];
    let first = true;
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          compression: { level: 1 },
          triggers: { walEntries: 5 },
          hooks: {
            afterArchive: () => {
              if (!first) return;
              first = false;
              setTimeout(() => void (async () => {
                for (let i = 0; i < 6; i++) await db!.set(`late${i}`, { i });
              })(), 20);
            },
          },
        },
      },
    });
    for (const n of ['finished', 'failed'] as const) db.archive.on(n, (e: { reason: string; error?: { code: string } }) => events.push(`${n} ${e.reason}${e.error ? ` ${e.error.code}` : ''}`));
    for (let i = 0; i < 5; i++) await db.set(`k${i}`, { i });
    await until(() => events.length >= 2);
    expect(events.slice(0, 2)).toEqual(['finished walEntries', 'finished walEntries']);
    await db.close();
  });

  it('a call the hook itself awaits while it runs is still refused', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const answers: string[] = [];
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          compression: { level: 1 },
          hooks: {
            afterArchive: async () => {
              await new Promise((r) => setTimeout(r, 10));
              answers.push(await outcome(db!.archive.create()));
            },
          },
        },
      },
    });
    await db.set('A', { v: 1 });
    await db.archive.create();
    expect(answers).toEqual([expect.stringMatching(/^USAGE: .*inside the afterArchive hook/)]);
    await db.close();
  });
});
