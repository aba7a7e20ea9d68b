/** Progress events of long operations (create, verify, repair, restore, upload), for the API and the CLI's bar. */

/**
 * Every phase an operation reports, in the order they come:
 * - create: prepare, wal (the WAL staged and compressed, byte by byte), snapshot, package, recovery (PAR2), done
 * - verify: verify (members hashed and decoded, byte by byte), recovery (PAR2 packets checked)
 * - repair: verify (the damage found), repair (PAR2 blocks rebuilt), write (the repaired copy), fsync
 * - restore: download (a remote copy), verify, repair (a damaged copy), write (snapshot and WAL
 *   written), fsync, validate (the new directory recovered and checked), swap (moved into place), done
 * - upload: upload
 * 'restore' is the former name of 'write' in a restore (still understood).
 */
export const PROGRESS_PHASES = ['prepare', 'download', 'snapshot', 'wal', 'package', 'recovery', 'verify', 'repair', 'write', 'restore', 'fsync', 'validate', 'swap', 'upload', 'done'] as const;

export type ProgressPhase = (typeof PROGRESS_PHASES)[number];

/** What a person reads for each phase: one word, the same in every operation. */
export const PHASE_LABELS: Record<ProgressPhase, string> = {
  prepare: 'prepare',
  download: 'download',
  snapshot: 'snapshot',
  wal: 'WAL',
  package: 'package',
  recovery: 'PAR2',
  verify: 'verify',
  repair: 'repair',
  write: 'write',
  restore: 'write',
  fsync: 'fsync',
  validate: 'validate',
  swap: 'swap',
  upload: 'upload',
  done: 'done',
};

export interface ProgressEvent {
  operation: 'create' | 'verify' | 'repair' | 'restore' | 'upload';
  phase: ProgressPhase;
  /**
   * Bytes done and expected in the current phase (uncompressed input for create's WAL). A phase
   * whose size is not known in bytes (fsync, validate, swap) reports totalBytes 0: the CLI shows
   * its name without a bar.
   */
  doneBytes: number;
  totalBytes: number;
  /** What is being worked on, e.g. "wal/000003.wal". */
  item?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** One upload of a run: an archive to one remote, and its size. */
export interface PlannedUpload {
  archiveId: string;
  source: string;
  bytes: number;
}

/** The bytes sent so far by one upload. */
export interface UploadSent {
  archiveId: string;
  source: string;
  doneBytes: number;
  totalBytes: number;
}

/**
 * Upload progress of a run's uploads (parallel, one per remote, archive after archive) as one progress event: the
 * bytes sent over the bytes of every upload planned. The plan comes before the first byte so that the total never
 * grows while the bar moves; an upload found not needed, or failed, counts as done when it ends, and a retry's
 * restart from 0 is not shown (done never goes back within the phase).
 */
export function uploadProgress(listener: ProgressListener): { plan(uploads: PlannedUpload[]): void; sent(e: UploadSent): void; ended(archiveId: string, source: string): void } {
  const uploads = new Map<string, { done: number; total: number }>();
  const keyOf = (archiveId: string, source: string) => `${archiveId}\n${source}`;
  const tell = (archiveId: string, source: string) => {
    let done = 0;
    let total = 0;
    for (const u of uploads.values()) {
      done += u.done;
      total += u.total;
    }
    listener({ operation: 'upload', phase: 'upload', doneBytes: done, totalBytes: total, item: `${archiveId} to ${source}` });
  };
  return {
    plan(planned) {
      for (const p of planned) uploads.set(keyOf(p.archiveId, p.source), { done: 0, total: p.bytes });
    },
    sent(e) {
      const u = uploads.get(keyOf(e.archiveId, e.source));
      // An upload no plan announced (a caller that gave none) adds its own size, as before.
      if (u === undefined) uploads.set(keyOf(e.archiveId, e.source), { done: e.doneBytes, total: e.totalBytes });
      else u.done = Math.min(u.total, Math.max(u.done, e.doneBytes));
      tell(e.archiveId, e.source);
    },
    ended(archiveId, source) {
      const u = uploads.get(keyOf(archiveId, source));
      if (u === undefined || u.done === u.total) return;
      u.done = u.total;
      tell(archiveId, source);
    },
  };
}
