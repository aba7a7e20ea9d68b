/** What the WAL writer is given and gives back, and the lines it queues. */
import type { EncryptionKey } from '../../format/encryption.js';

export type FsyncMode = 'always' | 'batched';

export interface WalWriterOptions {
  dataDir: string;
  /** Rotate before a line would push the segment past this many bytes. */
  segmentSize: number;
  /** 'always': a write is acknowledged after fdatasync; 'batched': after the OS has it, synced every batchIntervalMs. */
  fsyncMode: FsyncMode;
  batchIntervalMs: number;
  encryptionKey?: EncryptionKey;
}

export interface WalPosition {
  /** Index of the segment being appended to. */
  segment: number;
  /** Its size in bytes. */
  segmentBytes: number;
  /** Lines on disk (global count, as the reader numbers them). */
  totalLines: number;
  /** Pointer of the last line: the chain continues from it. */
  lastPointer: string;
}

export interface AppendResult {
  lineNo: number;
  pointer: string;
  timestamp: number;
  /** Resolves when the line is acknowledged under the fsync mode. */
  durable: Promise<void>;
}

export interface RotateResult {
  /** The segment just closed. */
  closed: number;
  /** The new, empty segment now written to. */
  opened: number;
}

export interface PendingLine {
  /** The line, or null for a rotation marker: rotate exactly here in the sequence. */
  bytes: Buffer | null;
  /** Set on a rotation marker once it has been carried out. */
  rotated?: RotateResult;
  /** On a rotation marker: do nothing when the segment is still empty (already a boundary). */
  skipIfEmpty?: boolean;
  /** Set on a line once it is in the segment. */
  written?: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Called after lines are written: number of lines and bytes, for size and count triggers. */
export type AppendListener = (lines: number, bytes: number) => void;
