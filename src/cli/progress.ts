/** A progress bar on a terminal (cli-progress), nothing otherwise; the line itself is a pure function. */
import cliProgress from 'cli-progress';
import { PHASE_LABELS, type ProgressEvent, type ProgressListener } from '../archive/offline.js';
import { formatBytes } from './output.js';

export interface ProgressHandle {
  listener: ProgressListener | undefined;
  /** Says something on the terminal (a warning) on a line of its own above the bar, which is drawn again below it. */
  aside(say: () => void): void;
  stop(): void;
}

/** The signals a user or a service manager stops a command with. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * While the bar is drawn the cursor is hidden and line wrapping is off: a command stopped by a signal (Ctrl-C)
 * skips the handlers' finally blocks and left the user's terminal so. The terminal is given back first, then the
 * process dies by the signal as it would have (exit 130 for Ctrl-C); the hook commands' own signal listener
 * (jobs/hook-process-groups.ts) stops their process groups as before.
 */
function restoreTerminalOnSignals(restore: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    restore();
    process.kill(process.pid, signal);
  };
  const release = () => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return release;
}

const LABEL_WIDTH = Math.max(...Object.values(PHASE_LABELS).map((l) => l.length));
const BAR_WIDTH = 30;
const FULL = '\u2588';
const EMPTY = '\u2591';

/**
 * One line of progress: the phase's name (once), a bar, the percentage, and done/total both in
 * human units. A phase without a size in bytes (fsync, swap) shows its name alone.
 */
export function progressLine(e: ProgressEvent, barWidth = BAR_WIDTH): string {
  const label = (PHASE_LABELS[e.phase] ?? String(e.phase)).padEnd(LABEL_WIDTH);
  const item = e.item ? ` ${e.item}` : '';
  if (!(e.totalBytes > 0)) return `${label}${item}`.trimEnd();
  const frac = Math.min(1, Math.max(0, e.doneBytes / e.totalBytes));
  const filled = Math.round(frac * barWidth);
  const pct = String(Math.floor(frac * 100)).padStart(3);
  return `${label} [${FULL.repeat(filled)}${EMPTY.repeat(barWidth - filled)}] ${pct}% ${formatBytes(Math.max(0, e.doneBytes))}/${formatBytes(e.totalBytes)}${item}`;
}

/** The bar on `stream` (stderr) when it is a terminal and `enabled`; otherwise no listener at all. */
export function progressBar(enabled: boolean, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): ProgressHandle {
  if (!enabled || !stream.isTTY) return { listener: undefined, aside: (say) => say(), stop() {} };
  const bar = new cliProgress.SingleBar({
    stream,
    // The whole line comes from progressLine: cli-progress's own {total} and {value} are raw numbers.
    format: (options, _params, payload: { event?: ProgressEvent }) => (payload.event ? progressLine(payload.event, options.barsize ?? BAR_WIDTH) : ''),
    barsize: BAR_WIDTH,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  });
  let started = false;
  let last: ProgressEvent | undefined;
  let releaseSignals = () => {};
  const stop = () => {
    if (started) bar.stop();
    started = false;
    releaseSignals();
  };
  const listener = (e: ProgressEvent) => {
    last = e;
    const total = Math.max(1, e.totalBytes);
    if (!started) {
      bar.start(total, Math.min(total, Math.max(0, e.doneBytes)), { event: e });
      started = true;
      releaseSignals = restoreTerminalOnSignals(() => bar.stop());
    } else {
      bar.setTotal(total);
      bar.update(Math.min(total, Math.max(0, e.doneBytes)), { event: e });
    }
  };
  return {
    listener,
    aside(say) {
      // Written while the bar is drawn, the text went on the bar's line (cut at the edge) and the bar's last redraw erased it.
      const wasDrawn = started;
      stop();
      say();
      if (wasDrawn && last) listener(last);
    },
    stop,
  };
}
