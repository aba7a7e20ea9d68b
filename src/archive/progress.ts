/** Progress events of long operations (create, verify, restore), for the API and the CLI's bar. */

export type ProgressPhase = 'prepare' | 'snapshot' | 'wal' | 'package' | 'recovery' | 'verify' | 'restore' | 'done';

export interface ProgressEvent {
  operation: 'create' | 'verify' | 'repair' | 'restore';
  phase: ProgressPhase;
  /** Bytes done and expected in the whole operation (uncompressed input for create). */
  doneBytes: number;
  totalBytes: number;
  /** What is being worked on, e.g. "wal/000003.wal". */
  item?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;
