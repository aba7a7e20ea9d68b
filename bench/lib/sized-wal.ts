/**
 * A generated WAL of about N MiB: the workload's bytes per line are learnt from a short
 * calibration run (deleted afterwards), then the WAL is generated with enough lines to pass N MiB.
 */
import * as fs from 'node:fs';
import { generateWal, walFiles, type GeneratedWal } from './walgen.js';

const MIB = 1024 * 1024;
/** Lines generated once to learn the workload's bytes per line. */
export const CALIBRATION_LINES = 20_000;

export interface SizedWal extends GeneratedWal {
  bytesPerLine: number;
  /** The segment files (absolute paths) and their total size, as on disk. */
  files: string[];
  walBytes: number;
}

/** Generates a WAL of at least `mib` MiB in `dataDir` (calibrating in `calibrationDir`, then removed). */
export function generateWalOfMib(opts: { dataDir: string; calibrationDir: string; mib: number; seed?: number }): SizedWal {
  const cal = generateWal({ dataDir: opts.calibrationDir, lines: CALIBRATION_LINES, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  fs.rmSync(opts.calibrationDir, { recursive: true, force: true });
  const bytesPerLine = cal.bytes / cal.lines;
  // 1% over: the per-line size varies along the workload.
  const lines = Math.ceil((opts.mib * MIB * 1.01) / bytesPerLine);
  const gen = generateWal({ dataDir: opts.dataDir, lines, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  const wal = walFiles(opts.dataDir);
  return { ...gen, bytesPerLine, files: wal.files, walBytes: wal.bytes };
}
