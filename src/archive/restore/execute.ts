/**
 * Carrying out a restore plan in one pass: the archive is read once, and each
 * member's checksum, the hash chain, the counts and the replay are checked while
 * the data directory is built beside the target (WAL segments, cold tier, a
 * snapshot at the last restored line so the first open replays nothing). A
 * damaged archive is repaired and the pass run again; then the recovery data is
 * audited, the directory fsynced and swapped in.
 * Never a half-restored directory: anything that fails before the swap leaves
 * the target as it was.
 */
import { boundedHooks, hookFailureText } from '../jobs/function-hook.js';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { asBriError, BriError, errnoOf, ErrorCodes, isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import type { ShippedInput, ShippedOutcome } from '../shipping/restore-shipped.js';
import { dryRunCounts, plannedShipped, type DryRunBounds } from './dry-run.js';
import { acquireLock, LOCK_FILE, refuseIfLocked, type DirLock } from '../../store/lock/dir-lock.js';
import { writeArchiveState, type ArchiveState } from '../../store/archive-state.js';
import { assertInstanceId } from '../package/ids.js';
import { recoveryDamage, type RecoveryDamage } from '../copies/fetch.js';
import type { ProgressListener } from '../package/progress.js';
import type { RestorePlan } from './plan.js';
import { acquireRestoreLock, recoverInterruptedRestore, removeJournal, RESTORE_LOCK_PURPOSE, stamp, swapIn, swapLeftJournal, writeJournal, type SwapJournal } from '../../store/dir-swap.js';
import { buildDataDir, builtCounts, restoreError, type Built } from './build.js';
import { auditPar2File } from '../par2/audit.js';
import { chownIfAllowed, fsyncTree, makeDirs } from '../../store/durable-fs.js';
import { keepStartAsSeed } from './start-seed.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import { identityMissing } from '../crypto/errors.js';
import { entriesLeftBehind, keepModeAndOwner, leftBehindWarning } from './replaced-dir.js';
import { checkTarget, refuseLongName, STOP_THE_OWNER } from './target-checks.js';
import { refuseOtherDatabases } from './other-databases.js';

/** A new directory's mode before the umask (as mkdir makes one): a new target's once built. */
const NEW_DIR_MODE = 0o777;

export interface RestoreHooks {
  /** `plan.targetDir`: the directory the restore is about to replace; `archiveId`: the archive restored from (null: none, shipped WAL alone), as the design note's `archive.archiveId`. */
  beforeRestore?(plan: RestorePlan & { targetDir: string; archiveId: string | null }): void | Promise<void>;
  afterSnapshotRestore?(info: { path: string; walLine: number; documents: number | null }): void | Promise<void>;
  /** `progress`: the design note's second argument, `{ current, total }` segments (the same counts as segmentsDone and segmentsTotal). */
  afterWalSegmentRestore?(info: { segment: string; lines: number; segmentsDone: number; segmentsTotal: number; linesDone: number }, progress: { current: number; total: number }): void | Promise<void>;
  afterRestore?(result: RestoreResult): void | Promise<void>;
  /** Any failure of a restore (not of a dry run): `plan` holds the plan's fields when the failure came after planning, else `targetDir` alone. */
  onError?(error: unknown, plan: Partial<RestorePlan> & { targetDir: string }): void | Promise<void>;
}

export interface RestoreOptions {
  targetDir: string;
  key?: EncryptionKey;
  /** The age identity that opens an archive encrypted with age (null or absent: none given). */
  age?: AgeIdentity | null;
  /** Verify the archive first (default true). */
  verify?: boolean;
  /** Remove the old directory instead of keeping it renamed. */
  cleanExisting?: boolean;
  /** Allow replacing a non-empty target. */
  force?: boolean;
  dryRun?: boolean;
  hooks?: RestoreHooks;
  /** A new instance id for the result (clone); default: kept when the chain goes on, new otherwise. */
  newInstanceId?: string;
  onProgress?: ProgressListener;
  /** Refuses targets that this process has open (the database's own directory). */
  openHere?: (dir: string) => boolean;
  /** Paths inside the target that the restored directory keeps (its archive directory). */
  carryOver?: string[];
  /** Where the restored directory's archives are made, recorded in it (in place: the directory keeps archiving where it did). */
  archiveRecord?: { archiveDir: string; archivedFrom: string };
  /**
   * Gets a verified (or repaired) copy of the planned archive, trying sources in order.
   * `temporary` files are removed afterwards.
   */
  fetch: (plan: RestorePlan, workDir: string, verified: boolean) => Promise<FetchedArchive>;
  /**
   * The archive directory the restored directory will use: a new instance's starting state is kept
   * there as a seed, so that its first archive starts where the restore did.
   */
  seedDir?: string;
  /** Shipped WAL that continues the archive (latest, or a time after the archive's end). */
  shipped?: ShippedInput;
  /** Fail (before anything is swapped in) when a shipment in the middle is damaged or missing. */
  shippedMustBeWhole?: boolean;
}

/** A copy of the planned archive, ready to unpack. */
export interface FetchedArchive {
  file: string;
  repaired: RestoreResult['repaired'];
  recoveryDamaged?: RecoveryDamage | null;
  source: string;
  temporary: string[];
  skipped: Array<{ source: string; reason: string; code?: string }>;
}

export interface RestoreResult {
  dryRun: boolean;
  plan: RestorePlan;
  targetDir: string;
  /** The design note's fields: `success` (a failure throws), `archive` (the id restored from; null: shipped WAL alone), `restoredTo` (targetDir), `timestamp` (the moment asked for, else the last restored line's time), `wouldRestore` (a dry run). */
  success: true; archive: string | null; restoredTo: string; timestamp: number | null; wouldRestore?: true;
  /** Where the previous target was moved (null if there was none, or it was removed). */
  movedAside: string | null;
  /**
   * Lines replayed. A dry run says what it can tell from the listing: exact, or, when a time cuts inside a
   * WAL member or the shipped WAL, the lines surely restored, with `bounds` (lastTimestamp and the counts null).
   */
  linesRestored: number;
  /** Absolute number of the last restored line (a dry run: as linesRestored). */
  lastLine: number;
  lastTimestamp: number | null;
  /** A dry run's bounds where the cut cannot be told without reading the lines; null otherwise. */
  bounds?: DryRunBounds | null;
  documents: number | null;
  collections: number | null;
  /**
   * The restored directory's instance. null in a dry run whose real run starts a new instance with a random id
   * (each run draws its own: a dry run's would not be the real one's); `--new-instance-id` makes it known.
   */
  instanceId: string | null;
  /** Whether the restored directory starts an instance of its own (a clone, a fork) rather than continuing the archives' one. */
  newInstance: boolean;
  repaired: { damagedBlocks: number; repairedBlocks: number } | null;
  /** The copy's recovery data is damaged, its data intact (so it was restored from): what is wrong and how to fix it. */
  recoveryDamaged: RecoveryDamage | null;
  /** Which source the archive came from (`local`, or a remote's name). */
  source: string;
  /** Sources tried first and passed over, with the reason (missing, down, damaged beyond repair). */
  skipped: Array<{ source: string; reason: string; code?: string }>;
  /** The shipped WAL restored after the archive (null: none was used). */
  shipped: ShippedOutcome | null;
  /** Errors thrown by hooks after the swap (the restore itself succeeded). */
  hookErrors: string[];
  /** What the restore got past and a person should know (it succeeded): damaged recovery data, a seed not kept. */
  warnings: string[];
}

/** Entries of the replaced directory that stay with the old one (moved aside or deleted): said among the warnings. */
async function noteLeftBehind(target: string, opts: RestoreOptions, fate: { dryRun: boolean; movedAside: string | null }, warnings: string[]): Promise<void> {
  const said = leftBehindWarning(await entriesLeftBehind(target, opts.carryOver ?? []), fate);
  if (said !== null) warnings.push(said);
}

/** What the restored directory records of its instance: the chain it continues, or where a new one begins. */
function restoredState(plan: RestorePlan, instanceId: string, linesRestored: number, lastLine: number, lastTimestamp: number | null): ArchiveState {
  const m = plan.archive?.manifest ?? null;
  const continues = plan.continuesChain && instanceId === plan.instanceId;
  // With no line restored, wal/ is empty and the next line's pointer starts from '' again (as in BRI): that is the chain the new instance continues.
  const pointer = linesRestored > 0 ? (m?.chain.prevPointer ?? '') : '';
  const origin = !continues && m !== null && m.timeRange.walLines.start > 0 ? { line: m.timeRange.walLines.start, pointer, timestamp: m.timeRange.start.getTime() } : null;
  return {
    version: 1,
    instanceId,
    removedLines: m?.timeRange.walLines.start ?? 0,
    last: continues && m !== null ? { archiveId: m.archiveId, endLine: m.timeRange.walLines.end, lastPointer: m.chain.lastPointer, endTimestamp: m.timeRange.end.getTime(), sealedAt: m.timeRange.sealedAt.getTime() } : null,
    ...(origin ? { origin } : {}),
    ...(continues ? {} : { restoredThrough: lastLine, ...(lastTimestamp !== null ? { restoredThroughTime: lastTimestamp } : {}), ...(plan.target.kind === 'timestamp' ? { restoredTo: plan.target.timestamp } : {}), ...(plan.instanceId !== instanceId ? { restoredFrom: plan.instanceId } : {}) }),
  };
}

/** What a result says before the lines are restored; `asked`: the moment a restore to a point in time asked for. */
type ResultBase = Omit<RestoreResult, 'linesRestored' | 'lastLine' | 'lastTimestamp' | 'documents' | 'collections' | 'timestamp'>;
const asked = (plan: RestorePlan): number | null => (plan.target.kind === 'timestamp' ? plan.target.timestamp : null);

/** The time of the last line restored: with none taken from the archive's WAL, its start's (the snapshot's line), as the dry run says. */
function lastTimeOf(plan: RestorePlan, built: { lastTimestamp: number | null; linesRestored: number }): number | null {
  const m = plan.archive?.manifest;
  return built.lastTimestamp ?? (built.linesRestored === 0 && m !== undefined && m.timeRange.walLines.start > 0 ? m.timeRange.start.getTime() : null);
}

export async function executeRestore(given: RestorePlan, options: RestoreOptions): Promise<RestoreResult> {
  // A caller's function hooks, bounded in time: one that never settles must not hold the restore and its lock forever.
  const opts = options.hooks ? { ...options, hooks: boundedHooks(options.hooks) } : options;
  if (opts.newInstanceId !== undefined) assertInstanceId(opts.newInstanceId, 'new instance id');
  // A clone is a new instance: its plan (and its dry run) says the chain forks.
  const plan = opts.newInstanceId !== undefined && given.continuesChain ? { ...given, continuesChain: false } : given;
  const target = path.resolve(opts.targetDir);
  const base: ResultBase = {
    dryRun: opts.dryRun === true,
    plan,
    targetDir: target,
    success: true,
    archive: plan.archive?.manifest.archiveId ?? null,
    restoredTo: target,
    ...(opts.dryRun === true ? { wouldRestore: true as const } : {}),
    movedAside: null,
    instanceId: opts.newInstanceId ?? (plan.continuesChain ? plan.instanceId : opts.dryRun === true ? null : randomUUID()),
    newInstance: opts.newInstanceId !== undefined || !plan.continuesChain,
    repaired: null,
    recoveryDamaged: null,
    source: plan.archive?.copies?.[0]?.source ?? plan.shipped?.source ?? 'local',
    skipped: [],
    shipped: null,
    hookErrors: [],
    // Why it starts a new instance where it would have continued one (a source that could not be read) is said.
    warnings: plan.newInstanceBecause !== undefined && opts.newInstanceId === undefined ? [plan.newInstanceBecause] : [],
  };
  refuseLongName(target);
  // An archive encrypted with age needs an identity: said before anything is fetched (a dry run says it too).
  if (plan.archive?.manifest.encryption !== undefined && !opts.age) throw identityMissing(`archive ${plan.archive.manifest.archiveId}`);
  if (opts.dryRun) {
    // The same refusals as the real run (a non-empty target without force, a locked one): a dry run says what would happen.
    const st = await checkTarget(target, opts);
    const shipped = plannedShipped(plan, opts.shipped !== undefined);
    const movedAside = st.exists && !st.empty && !st.carriedOnly && !opts.cleanExisting ? `${target}.pre-restore-<time>` : null;
    await noteLeftBehind(target, opts, { dryRun: true, movedAside }, base.warnings);
    const counts = dryRunCounts(plan, shipped);
    return { ...base, movedAside, shipped, ...counts, timestamp: asked(plan) ?? counts.lastTimestamp };
  }
  // Before its parents and its lock file are made beside it: inside another database they would be made there.
  await refuseOtherDatabases(target, opts.carryOver ?? [], 'around');
  await makeDirs(path.dirname(target));
  // One restore per target: the lock comes before anything reads the journal, so a second restore never "recovers" a live one's build.
  const restoreLock = await acquireRestoreLock(target, RESTORE_LOCK_PURPOSE);
  try {
    await recoverInterruptedRestore(target, { locked: true });
    return await restoreUnderLock(plan, opts, target, base);
  } finally {
    await restoreLock.release();
  }
}

async function restoreUnderLock(plan: RestorePlan, opts: RestoreOptions, target: string, base: ResultBase): Promise<RestoreResult> {
  // A directory held by a running database is refused after beforeRestore, which may stop that application.
  const st = await checkTarget(target, opts, 'after beforeRestore');
  let lock: DirLock | null = null;
  const when = stamp();
  const journal: SwapJournal = {
    target,
    newDir: `${target}.restore-${when}`,
    oldDir: st.exists ? `${target}.pre-restore-${when}` : null,
    phase: 'building',
    cleanExisting: opts.cleanExisting === true,
    carryOver: opts.carryOver ?? [],
  };
  if (st.exists) await noteLeftBehind(target, opts, { dryRun: false, movedAside: journal.cleanExisting ? null : journal.oldDir }, base.warnings);
  let swapped = false;
  let seedOutside: (() => Promise<void>) | null = null;
  const temporary: string[] = [];
  try {
    await opts.hooks?.beforeRestore?.({ ...plan, targetDir: target, archiveId: plan.archive?.manifest.archiveId ?? null });
    if (st.exists) {
      await refuseIfLocked(target, STOP_THE_OWNER);
      lock = await acquireLock(target, RESTORE_LOCK_PURPOSE);
    }
    await writeJournal(journal);
    // One pass: the copy is built from as it is, every member checked against the manifest on the way.
    // A copy that does not match is verified (and repaired, or passed over for another source) first, then built again.
    let built: Built;
    let file: string | null = null;
    const attempt = async (verifiedFirst: boolean): Promise<Built> => {
      file = null;
      if (plan.archive !== null) {
        const fetched = await opts.fetch(plan, path.dirname(target), verifiedFirst);
        temporary.push(...fetched.temporary);
        file = fetched.file;
        base.repaired = fetched.repaired;
        base.recoveryDamaged = fetched.recoveryDamaged ?? null;
        base.source = fetched.source;
        base.skipped = fetched.skipped;
      }
      await fsp.rm(journal.newDir, { recursive: true, force: true });
      await makeBuildDir(journal.newDir, st.exists ? target : null);
      return buildDataDir(file, plan, journal.newDir, {
        ...(opts.key ? { key: opts.key } : {}),
        ...(opts.age ? { age: opts.age } : {}),
        ...(opts.verify === false ? { verify: false } : {}),
        ...(opts.hooks ? { hooks: opts.hooks } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.shipped ? { shipped: opts.shipped } : {}),
        ...(opts.shippedMustBeWhole ? { shippedMustBeWhole: true } : {}),
      });
    };
    try {
      built = await attempt(false);
    } catch (err) {
      // An age header that no identity opens may be a damaged one: the verified copy says which (the same error again: the identity is wrong).
      const doubt = isBriError(err, ErrorCodes.ARCHIVE_CORRUPTED) || isBriError(err, ErrorCodes.ARCHIVE_INVALID) || (isBriError(err, ErrorCodes.DECRYPTION_FAILED) && plan.archive?.manifest.encryption !== undefined);
      if (opts.verify === false || !doubt) throw err;
      built = await attempt(true);
    }
    // The recovery data, audited on its own (its packets' MD5s): intact data is restored whatever it says, with a warning.
    if (base.recoveryDamaged === null && built.recovery && file !== null && opts.verify !== false && plan.archive) {
      const m = plan.archive.manifest;
      opts.onProgress?.({ operation: 'restore', phase: 'recovery', doneBytes: 0, totalBytes: 0, item: 'recovery.par2' });
      const audit = await auditPar2File(file, built.recovery.offset, built.recovery.size, m.errorCorrection.recoveryBlockCount ?? 0);
      if (!audit.intact) base.recoveryDamaged = recoveryDamage(m.archiveId, plan.archive.copies?.find((c) => c.source === base.source) ?? { source: base.source, location: file }, `recovery.par2: ${audit.problems.join('; ')}`);
    }
    const rd = base.recoveryDamaged;
    if (rd) base.warnings.push(`the recovery data of the copy on ${rd.source} is damaged (${rd.problem}); its data is intact and was restored; ${rd.hint}`);
    // Said, not left to a null count: the bytes match the archive, but nothing inside them was looked at.
    if (built.encrypted && opts.key === undefined) {
      base.warnings.push('the data is encrypted at rest and no key was given: it was restored byte for byte and checked against the archive\'s checksums, but its hash chain and its state were not checked (documents and sets are not counted); give the key (BRI_ENCRYPTION_KEY) to check them, the database opens with it');
    }
    // Shipped WAL that broke off before its end: the lines past the break are still on the remote under this
    // instance, so the restored directory (which ends before them) starts a new one, as a restore to an earlier point does.
    if (built.shipped?.broken && opts.newInstanceId === undefined && base.instanceId === plan.instanceId) [base.instanceId, base.newInstance] = [randomUUID(), true];
    // A real run always has its id (only a dry run's may be unknown).
    const state = { ...restoredState(plan, base.instanceId!, built.linesRestored, built.lastLine, lastTimeOf(plan, built)), ...(opts.archiveRecord ?? {}) };
    await writeArchiveState(journal.newDir, state);
    // The seed before the swap: the directory swapped in (a kill at any point after included) has it.
    seedOutside = await keepStartAsSeed(plan, state, built, opts, journal, base.warnings);
    // Phases without a byte count are said by name: a restore never sits at 100% saying nothing.
    const phase = (p: 'fsync' | 'swap' | 'done') => opts.onProgress?.({ operation: 'restore', phase: p, doneBytes: 0, totalBytes: 0, item: target });
    if (st.exists) await keepModeAndOwner(target, journal.newDir);
    else await fsp.chmod(journal.newDir, NEW_DIR_MODE & ~process.umask());
    phase('fsync');
    await fsyncTree(journal.newDir);
    // Proven while it was written (hashes, counts, the chain's end against the manifest): not read again.
    const counts = builtCounts(built);
    phase('swap');
    // An old directory --clean-existing could not delete is left aside: said, and named as moved aside.
    const notDropped = await swapIn(journal);
    swapped = true;
    base.warnings.push(...notDropped);
    if (journal.oldDir && !journal.cleanExisting) await fsp.rm(path.join(journal.oldDir, LOCK_FILE), { force: true });
    // A target that held only its archive directory (carried over) leaves an empty shell aside: removed (rmdir: only if empty).
    const shellGone = st.carriedOnly === true && journal.oldDir !== null && !journal.cleanExisting && (await fsp.rmdir(journal.oldDir).then(() => true, () => false));
    const result: RestoreResult = {
      ...base,
      movedAside: (journal.cleanExisting && notDropped.length === 0) || shellGone ? null : journal.oldDir,
      linesRestored: built.linesRestored,
      shipped: built.shipped,
      lastLine: built.lastLine,
      lastTimestamp: lastTimeOf(plan, built),
      timestamp: asked(plan) ?? lastTimeOf(plan, built),
      ...counts,
    };
    phase('done');
    try {
      await opts.hooks?.afterRestore?.(result);
    } catch (err) {
      result.hookErrors.push(`afterRestore: ${hookFailureText(err)}`);
      // The restore stands; what onError does wrong is said as a warning by its wrapper (saidIfOnError), not thrown over it.
      await Promise.resolve().then(() => opts.hooks?.onError?.(err, { ...plan, targetDir: target })).catch(() => undefined);
    }
    return result;
  } catch (err) {
    const halfSwapped = swapLeftJournal(err);
    // The old directory took the restore's lock with it: a later open in this process must not find it held.
    if (halfSwapped && journal.oldDir) await fsp.rm(path.join(journal.oldDir, LOCK_FILE), { force: true }).catch(() => undefined);
    let leftover: string | null = null;
    if (!swapped && !halfSwapped) {
      leftover = await removeUnfinished(journal.newDir, target);
      await seedOutside?.().catch(() => undefined);
    }
    // (The caller's onError is told by the API, of this failure and of those before the build: restore/call-options.ts.)
    if (isBriError(err)) throw withLeftover(err, leftover);
    // A failed system call (a full disk, a permission) is said as such; the target is as it was either way.
    if (errnoOf(err) !== undefined) throw withLeftover(asBriError(err, `restore into ${target} failed, nothing was swapped in`, journal.newDir), leftover);
    throw withLeftover(restoreError(`restore failed: ${hookFailureText(err)}`, swapped ? `The restored directory is in place at ${target}; what failed came after the swap.` : 'Nothing was swapped in; the target is as it was.', err), leftover);
  } finally {
    if (lock && !swapped) await lock.release();
    await Promise.all(temporary.map((f) => fsp.rm(f, { force: true })));
  }
}

/**
 * Makes the directory the restore builds in, private to the restoring user from its first byte and, over
 * an existing target, with that directory's owner (as root) and mode: made with the user's defaults (0755),
 * the plaintext of a 0700 data directory lay readable by every local user beside it for the whole build,
 * and after a kill mid-build. The owner keeps write access whatever the target's mode (u+rwx) until the
 * swap gives the exact mode (keepModeAndOwner); a new target is built private and gets the mode a new
 * directory gets at the swap.
 */
async function makeBuildDir(newDir: string, replaced: string | null): Promise<void> {
  await fsp.mkdir(newDir, { mode: 0o700 });
  const top = replaced === null ? null : await fsp.stat(replaced).catch(() => null);
  if (top === null || !top.isDirectory()) return;
  // The owner first: a chown may drop a set-group-id bit that the mode sets again.
  await chownIfAllowed(newDir, top.uid, top.gid);
  await fsp.chmod(newDir, (top.mode & 0o7777) | 0o700);
}

/**
 * Removes a failed restore's unfinished directory, then its journal. A removal that fails too (the same too
 * many open files, a full disk) must not replace the restore's own error: the journal is kept, so that the
 * next restore into `target` (or open of it) removes the directory, and what was left is answered for the error.
 */
async function removeUnfinished(newDir: string, target: string): Promise<string | null> {
  const journalFile = path.join(path.dirname(target), `.${path.basename(target)}.restore.json`);
  try {
    await fsp.rm(newDir, { recursive: true, force: true });
    if (fs.existsSync(journalFile)) await removeJournal(target);
    return null;
  } catch (err) {
    const sweep = fs.existsSync(journalFile) ? `the next restore into ${target} (or open of it) removes it` : 'remove it by hand';
    return `The unfinished ${fs.existsSync(newDir) ? newDir : journalFile} was left behind (removing it failed: ${(err as Error).message}): ${sweep}.`;
  }
}

/** The restore's error, with what its cleanup could not remove said in its hint. */
function withLeftover(err: BriError, leftover: string | null): BriError {
  if (leftover === null) return err;
  return new BriError(err.code, err.message, { hint: err.hint ? `${err.hint} ${leftover}` : leftover, details: { ...err.details, leftover }, cause: err.cause ?? err });
}
