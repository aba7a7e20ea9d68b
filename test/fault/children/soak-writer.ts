/**
 * Soak-test child: opens the database with archive triggers on (every 300 WAL
 * entries, WAL cleanup after each archive) and writes at a steady rate until it
 * is killed, or until SIGTERM, on which it stops writing, waits for the writes in
 * flight and closes the database (which waits for a running archive).
 *   soak-writer.ts <dataDir> <run> [periodMs]
 * Keys are K_<run>_<n> (n from 0): SET only, each key written once, so that a
 * key's presence is the whole truth about it. Prints:
 *   READY                                       once the database is open
 *   ACK <key> <timestamp> <valueDigest>          once a write is acknowledged
 *   STARTED <reason>                             when an archive run starts
 *   CLEANUP <step>                               as its WAL cleanup goes (journal-written .. done)
 *   ARCHIVE <archiveId> <startLine> <endLine> <segmentsRemoved>   on 'finished'
 *   SKIPPED <reason>                             on 'skipped' (nothing new to archive)
 *   FAIL <reason> <message>                      on 'failed'
 *   WRITEFAIL <key> <message>                    if a write is rejected (never expected)
 *   CLOSED                                       after db.close() (SIGTERM only)
 * valueDigest is sha256(encodeJss(value)) cut to 16 hex chars: the stored string's digest.
 */
import { createHash } from 'node:crypto';
import { createDB } from '../../../src/db.js';
import { encodeJss } from '../../../src/format/jss.js';

const [dataDir, runText, periodText] = process.argv.slice(2) as [string, string, string | undefined];
const run = Number(runText);
/** One write every this many ms (open loop: issued on schedule, not after the previous ack). */
const periodMs = Number(periodText ?? 2);
/** Writes in flight at most: a stalled disk slows the writer down instead of queueing without end. */
const MAX_IN_FLIGHT = 64;

const out = (line: string) => process.stdout.write(`${line}\n`);
const digest = (stored: string) => createHash('sha256').update(stored).digest('hex').slice(0, 16);

const db = await createDB({
  storeConfig: {
    dataDir,
    walSegmentSize: 16 * 1024,
    fsyncMode: 'batched',
    batchIntervalMs: 5,
    snapshotOnClose: false,
    archive: { triggers: { walEntries: 300 }, cleanupWal: true, compression: { level: 1 } },
  },
});
db.archive.on('started', ({ reason }) => out(`STARTED ${reason}`));
db.archive.on('cleanup', ({ step }) => out(`CLEANUP ${step}`));
db.archive.on('skipped', ({ reason }) => out(`SKIPPED ${reason}`));
db.archive.on('finished', (r) => {
  const cleanup = r.cleanup && 'segments' in r.cleanup ? r.cleanup.segments.length : -1;
  out(`ARCHIVE ${r.archiveId} ${r.manifest.timeRange.walLines.start} ${r.manifest.timeRange.walLines.end} ${cleanup}`);
});
db.archive.on('failed', ({ reason, error }) => out(`FAIL ${reason} ${String((error as Error)?.message ?? error).replace(/\s+/g, ' ')}`));

let stopping = false;
let inFlight = 0;
let n = 0;
let allAcked: () => void = () => undefined;
const writeOne = () => {
  const key = `K_${run}_${n}`;
  const value = { run, n, pad: 'p'.repeat(n % 40) };
  const stored = encodeJss(value);
  n++;
  inFlight++;
  db.set(key, value).then(
    (ack) => {
      out(`ACK ${key} ${ack.timestamp} ${digest(stored)}`);
      if (--inFlight === 0 && stopping) allAcked();
    },
    (err: unknown) => {
      // A write that fails is not acknowledged; it is reported and the writer goes on.
      out(`WRITEFAIL ${key} ${String((err as Error)?.message ?? err).replace(/\s+/g, ' ')}`);
      if (--inFlight === 0 && stopping) allAcked();
    },
  );
};

process.once('SIGTERM', () => {
  stopping = true;
  void (async () => {
    if (inFlight > 0) await new Promise<void>((r) => (allAcked = r));
    await db.close();
    out('CLOSED');
    process.exit(0);
  })();
});

out('READY');
let t0 = Date.now();
let issued = 0;
while (!stopping) {
  let due = Math.floor((Date.now() - t0) / periodMs) - issued;
  // Far behind (a stall): start the schedule again from now instead of bursting.
  if (due > MAX_IN_FLIGHT) {
    t0 = Date.now();
    issued = 0;
    due = 1;
  }
  for (; due > 0 && inFlight < MAX_IN_FLIGHT && !stopping; due--, issued++) writeOne();
  await new Promise<void>((r) => setTimeout(r, periodMs));
}
