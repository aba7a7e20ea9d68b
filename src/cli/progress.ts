/** A progress bar on a terminal (cli-progress), nothing otherwise. */
import cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressListener } from '../archive/progress.js';
import { formatBytes } from './output.js';

export interface ProgressHandle {
  listener: ProgressListener | undefined;
  stop(): void;
}

export function progressBar(enabled: boolean): ProgressHandle {
  if (!enabled || !process.stderr.isTTY) return { listener: undefined, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{operation} {phase} [{bar}] {percentage}% {done}/{total} {item}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    listener(e: ProgressEvent) {
      const payload = { operation: e.operation, phase: e.phase, done: formatBytes(e.doneBytes), total: formatBytes(e.totalBytes), item: e.item ?? '' };
      if (!started) {
        bar.start(Math.max(1, e.totalBytes), e.doneBytes, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(1, e.totalBytes));
        bar.update(e.doneBytes, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
