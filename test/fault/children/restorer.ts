/**
 * Crash-test child: one restore of `source`'s archives into `target` (force). It loads,
 * prints "ready", waits for SIGUSR2 (so that the test can start it while it checks the
 * previous run), then prints "start", "seg <done>/<total>" after each WAL segment and
 * "done <ms>". Killed with SIGKILL by the test at a random moment.
 *
 * argv: source archiveDir target what [hang] [clean]
 *   what: "latest" or "ts:<ms since epoch>"
 *   hang: "none" (default), or a hook name ("beforeRestore", "afterWalSegmentRestore")
 *         in which the child prints "hang <hook>" and waits to be killed.
 *   clean: "clean" for cleanExisting
 */
import { openRestore } from '../../../src/archive/restore-api.js';
import type { RestoreHooks } from '../../../src/archive/restore/execute.js';

const [source, archiveDir, target, what, hang = 'none', clean = ''] = process.argv.slice(2) as [string, string, string, string, string?, string?];

const forever = (hook: string) => (): Promise<void> => {
  process.stdout.write(`hang ${hook}\n`);
  return new Promise(() => setInterval(() => {}, 1000));
};
const hooks: RestoreHooks = {};
if (hang === 'beforeRestore') hooks.beforeRestore = forever(hang);
if (hang === 'afterWalSegmentRestore') hooks.afterWalSegmentRestore = forever(hang);
else hooks.afterWalSegmentRestore = (info) => void process.stdout.write(`seg ${info.segmentsDone}/${info.segmentsTotal}\n`);

const go = new Promise<void>((resolve) => {
  const keep = setInterval(() => {}, 1000);
  process.once('SIGUSR2', () => {
    clearInterval(keep);
    resolve();
  });
});
process.stdout.write('ready\n');
await go;

const restore = openRestore({ dataDir: source, archiveDir });
const opts = { targetDir: target, force: true, cleanExisting: clean === 'clean', hooks };
process.stdout.write('start\n');
const t0 = performance.now();
if (what === 'latest') await restore.fromLatest(opts);
else if (what.startsWith('ts:')) await restore.toTimestamp(Number(what.slice(3)), opts);
else throw new Error(`unknown restore "${what}"`);
process.stdout.write(`done ${Math.round(performance.now() - t0)}\n`);
