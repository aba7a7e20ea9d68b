/**
 * Continuous shipping across a database's lifecycle, property-tested: random workloads and archives, the
 * remote going down and coming back (while the database runs, or across a reopen), reopens, restores in
 * place to a random earlier moment (a new instance, whose WAL may not start at line 1), and clones that
 * go on as the database (shipping to the same remote; a later rollback may go back to a moment before the
 * clone began, which its origin's archives hold); encrypted with age or not. Whatever came
 * before, once the remote is back a flushShipping() resolves, and the machine lost right after it, a restore
 * from the remote alone gives the state the database had at that flush.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB, type BriDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { toPlainState } from '../../../src/format/state.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { recover } from '../../../src/store/recovery.js';
import { ageKeyFile } from '../../support/age-keys.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { apply, step, type Step } from '../../support/wal-reference.js';
import { endsWithin } from '../../support/property-budget.js';

const tmp = useTempDirs('bri-ship-life-prop-');

type Event = { kind: 'work'; steps: Step[] } | { kind: 'down' } | { kind: 'up' } | { kind: 'reopen' } | { kind: 'flush' } | { kind: 'rollback'; pick: number } | { kind: 'clone' };

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('work' as const), steps: fc.array(step, { minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'down' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'up' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rollback' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clone' as const }) },
);

/** A close whose last shipment could not reach a remote that is down says so (REMOTE_ERROR): the lines stay in wal/. */
async function close(db: BriDB, remoteUp: boolean): Promise<void> {
  await db.close().catch((err: unknown) => {
    if (remoteUp || !isBriError(err, 'REMOTE_ERROR')) throw err;
  });
}

describe('continuous shipping across a lifecycle', () => {
  it('once the remote is back, a flush resolves and the remote alone restores the state flushed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 3, maxLength: 10 }), fc.boolean(), fc.boolean(), async (events, cleanupWal, encrypted) => {
        const root = await tmp();
        let dataDir = path.join(root, 'data');
        const nas = path.join(root, 'nas');
        const offline = path.join(root, 'nas.offline');
        await fsp.mkdir(nas);
        const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
        // Encrypted with age or not (this machine holds the identity: WAL cleanup may rely on the encrypted shipments).
        const key = encrypted ? await ageKeyFile(root, 'key') : null;
        const encryption = key ? { encryption: { recipients: [key.recipient], identityFile: key.file } } : {};
        const archive = { remotes, continuous: { enabled: true, intervalMs: 30 }, cleanupWal, compression: { level: 1 }, ...encryption };
        const open = () => createDB({ storeConfig: { dataDir, archive } });
        let up = true;
        const setUp = async (want: boolean) => {
          if (want !== up) await fsp.rename(want ? offline : nas, want ? nas : offline);
          up = want;
        };
        // The moments of the database's timeline (after each workload) with its state then.
        let moments: Array<{ ts: number; state: unknown }> = [];
        let db = await open();
        // (A database that never wrote a line has nothing to restore: ARCHIVE_NOT_FOUND.)
        await db.set('K0', { v: -1 });
        for (const e of events) {
          if (e.kind === 'work') {
            for (const s of e.steps) await apply(db, s);
            await new Promise((r) => setTimeout(r, 3));
            moments.push({ ts: Date.now(), state: toPlainState(db.state) });
            await new Promise((r) => setTimeout(r, 3));
          } else if (e.kind === 'down' || e.kind === 'up') await setUp(e.kind === 'up');
          else if (e.kind === 'flush') {
            if (up) await db.archive.flushShipping();
          } else if (e.kind === 'reopen') {
            await close(db, up);
            db = await open();
          } else if (e.kind === 'clone') {
            await setUp(true);
            await db.archive.flushShipping();
            const state = toPlainState(db.state);
            await close(db, true);
            const clone = path.join(root, `clone-${path.basename(dataDir)}`);
            await openRestore({ dataDir, config: { remotes, ...encryption } }).clone({ targetDir: clone });
            dataDir = clone;
            db = await open();
            expect(toPlainState(db.state)).toEqual(state);
          } else if (moments.length > 0) {
            // Everything reaches the remote first, so that every moment is in an archive or the shipped WAL.
            await setUp(true);
            await db.archive.flushShipping();
            await close(db, true);
            const m = moments[e.pick % moments.length]!;
            const back = openRestore({ dataDir, config: { remotes, ...encryption } });
            await back.toTimestamp(m.ts, { force: true }).finally(() => back.close());
            moments = moments.filter((x) => x.ts <= m.ts);
            db = await open();
            expect(toPlainState(db.state)).toEqual(m.state);
          }
        }
        await setUp(true);
        await db.archive.flushShipping();
        const expected = toPlainState(db.state);
        const instanceId = (await readArchiveState(dataDir))!.instanceId;
        await close(db, true);
        // The machine is lost: its data directory and the archives in it.
        await fsp.rm(dataDir, { recursive: true, force: true });
        const target = path.join(root, 'restored');
        await openRestore({ dataDir: target, config: { remotes, ...encryption } }).fromLatest({ instanceId });
        expect(toPlainState((await recover(target)).state)).toEqual(expected);
      }),
      { numRuns: Number(process.env.SHIP_LIFE_RUNS ?? 8), ...endsWithin(300_000) },
    );
  }, 300_000);
});
