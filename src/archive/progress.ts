/** Progress events of long operations (create, verify, restore), for the API and the CLI's bar. */

export type ProgressPhase = 'prepare' | 'snapshot' | 'wal' | 'package' | 'recovery' | 'verify' | 'restore' | 'upload' | 'done';

export interface ProgressEvent {
  operation: 'create' | 'verify' | 'repair' | 'restore' | 'upload';
  phase: ProgressPhase;
  /** Bytes done and expected in the whole operation (uncompressed input for create). */
  doneBytes: number;
  totalBytes: number;
  /** What is being worked on, e.g. "wal/000003.wal". */
  item?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;

/**
 * Upload progress of parallel uploads (one per remote) as one progress event: the bytes sent to
 * every remote over the bytes to send to all of them.
 */
export function uploadProgress(listener: ProgressListener): (e: { archiveId: string; source: string; doneBytes: number; totalBytes: number }) => void {
  const uploads = new Map<string, { done: number; total: number }>();
  return (e) => {
    uploads.set(`${e.archiveId}\n${e.source}`, { done: e.doneBytes, total: e.totalBytes });
    let done = 0;
    let total = 0;
    for (const u of uploads.values()) {
      done += u.done;
      total += u.total;
    }
    listener({ operation: 'upload', phase: 'upload', doneBytes: done, totalBytes: total, item: `${e.archiveId} to ${e.source}` });
  };
}
