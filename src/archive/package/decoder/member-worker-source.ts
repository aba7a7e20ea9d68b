/**
 * The source of a member decoder thread (started with `eval`: a worker cannot load a .ts module under
 * tsx or vitest, a string works compiled or not). It takes one WAL member's compressed bytes at a time
 * and does the work that needs no state: zstd decompression (refusing to pass the size the manifest
 * declared) and, in `filter` mode, the search of the decompressed bytes for some names' JSON forms, so
 * that only the lines that name one come back as text (a history is about 1 line in 10,000). In
 * `lines` mode it hands back the decompressed bytes cut at line ends, in regions of shared memory; in
 * `check` mode the same, each region once its content is hashed and the hash chain's links inside it
 * are checked (a restore's and a verify's work that needs no state). At most CREDIT pieces of a job
 * wait unread before it pauses (`ack` resumes it); the thread goes on with its other jobs meanwhile.
 *
 * A piece with an entry that is not plaintext (BRI's encryption at rest: no name can be seen) comes
 * back whole, line by line: the caller decides about it after decrypting.
 */
import { LINK_CHECKER_SOURCE } from './link-checker-source.js';

export const MEMBER_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
${LINK_CHECKER_SOURCE}
const binding = require(workerData.bindingPath);
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const PLAIN = Buffer.from('|{"action":"');
const STAGE = 1 << 20;
const CREDIT = 16;
/** Node cannot make a longer buffer into a string, so no store wrote, and none can read, a longer WAL line. */
const MAX_LINE_BYTES = workerData.maxLineBytes;
/** A decoded member goes to the caller in regions of about this size, each as soon as it is checked. */
const REGION = 1 << 20;
const jobs = new Map();

function count(buf, what, from, to) {
  let n = 0;
  const step = typeof what === 'number' ? 1 : what.length;
  for (let at = buf.indexOf(what, from); at >= 0 && at < to; at = buf.indexOf(what, at + step)) n++;
  return n;
}

/**
 * The lines of region[0, stop) that name a needle: their starts, and their places counted by the entry
 * starts before them (in a region of plaintext entries the k-th \`|{"action":"\` starts the k-th line's
 * entry, and no JSON string can hold one: its quote would be escaped). One search per line for the
 * entry starts, which must number \`lines\`; null when they do not (a line that is not a plaintext entry).
 */
function plainMatches(region, stop, needles, lines) {
  let starts = [];
  for (const needle of needles) {
    for (let at = region.indexOf(needle, 0); at >= 0 && at < stop; ) {
      starts.push(region.lastIndexOf(NL, at) + 1);
      at = region.indexOf(needle, region.indexOf(NL, at) + 1);
    }
  }
  if (needles.length > 1) starts = [...new Set(starts)].sort((a, b) => a - b);
  const idx = [];
  let k = 0;
  let at = region.indexOf(PLAIN, 0);
  for (const s of starts) {
    while (at >= 0 && at < s) { k++; at = region.indexOf(PLAIN, at + PLAIN.length); }
    idx.push(k);
  }
  while (at >= 0 && at < stop) { k++; at = region.indexOf(PLAIN, at + PLAIN.length); }
  return k === lines ? { starts, idx, lines } : null;
}

class Failure extends Error { constructor(kind, message) { super(message); this.kind = kind; } }

/** Members up to this size are decompressed in one call (zstd writes straight into the output: 2.6x faster than streaming into a small buffer). */
const ONE_SHOT_MAX = 64 << 20;
/**
 * Buffers kept for the next members: a fresh one costs its page faults, which on this kind of machine
 * is as long as decompressing into it (measured: 35-45 ms for 10 MiB, against 6 ms of zstd). Members
 * read here and decompressed outputs are taken from these and given back (by the caller, for outputs
 * it was handed); they are dropped after a few idle seconds.
 */
const spare = { input: [], output: [] };
let idle = null;
function borrow(kind, size) {
  const list = spare[kind];
  const i = list.findIndex((b) => b.length >= size);
  if (i >= 0) return list.splice(i, 1)[0];
  // Room to grow: members of one instance are about the same size.
  const n = Math.max(64 * 1024, Math.ceil(size * 1.125 / 65536) * 65536);
  return kind === 'output' ? shared(n) : Buffer.allocUnsafeSlow(n);
}
/**
 * Decompressed bytes live in shared memory: the caller reads a member's lines in regions while the rest
 * of it is still being checked here, and gives the whole buffer back with one message (nothing is moved).
 */
function shared(n) {
  return Buffer.from(new SharedArrayBuffer(n));
}
function giveBack(kind, buf) {
  if (buf && spare[kind].length < 2) spare[kind].push(buf);
}

function checkStored(job) {
  if (!job.sha256) return;
  if (job.data.length !== job.size || createHash('sha256').update(job.data).digest('hex') !== job.sha256) throw new Failure('stored', 'its bytes do not match the manifest (damaged copy)');
}

/**
 * Decompresses data, calling emit(stage, end, last, whole) with stage[0, end) whole lines (all of it when
 * last; the whole member when whole); emit returns the next stage.
 */
async function decompressLines(job, emit) {
  checkStored(job);
  const dctx = new binding.DCtx();
  if (job.limit <= ONE_SHOT_MAX && !job.streamOnly) {
    const out = borrow('output', job.limit);
    let n;
    try {
      n = job.data.length === 0 ? 0 : dctx.decompress(out.subarray(0, job.limit), job.data);
    } catch (err) {
      giveBack('output', out);
      const message = String(err && err.message || err);
      if (/too small/i.test(message)) throw new Failure('bomb', 'decompresses to more than its declared ' + job.limit + ' bytes');
      throw new Failure('damaged', 'zstd data is damaged (' + message + ')');
    } finally {
      releaseInput(job);
    }
    // Filter mode gives the output back here; lines mode hands it over (the caller gives it back).
    await emit(out, n, true, true);
    return;
  }
  let stage = shared(job.stage);
  let fill = 0;
  let total = 0;
  let src = job.data;
  for (;;) {
    if (fill === stage.length) {
      // One line longer than the stage: grow it, up to the longest line the store can read back.
      if (fill >= MAX_LINE_BYTES) throw new Failure('line', 'holds a line longer than ' + MAX_LINE_BYTES + ' bytes, more than BRI can read as one line (the longest string Node can make)');
      const bigger = shared(Math.min(stage.length * 2, MAX_LINE_BYTES + 1));
      stage.copy(bigger, 0, 0, fill);
      stage = bigger;
    }
    let ret, produced, consumed;
    try {
      [ret, produced, consumed] = dctx.decompressStream(stage.subarray(fill), src);
    } catch (err) {
      throw new Failure('damaged', 'zstd data is damaged (' + (err && err.message || err) + ')');
    }
    total += produced;
    if (total > job.limit) throw new Failure('bomb', 'decompresses to more than its declared ' + job.limit + ' bytes');
    fill += produced;
    src = src.subarray(consumed);
    // Done when the input is used up and the decoder says the frame ended, or could not fill the stage.
    const done = src.length === 0 && (ret === 0 || fill < stage.length);
    if (done && ret !== 0) throw new Failure('damaged', 'the last zstd frame is truncated');
    if (!done && fill < stage.length) continue;
    const end = done ? fill : stage.lastIndexOf(NL, fill - 1) + 1;
    if (end === 0 && !done) continue;
    stage = await emit(stage, end, done, false);
    if (job.cancelled || done) return;
    fill -= end;
  }
}

/** Waits until the caller has read enough of this job's pieces. */
function credit(job) {
  if (job.unread < CREDIT || job.cancelled) return null;
  return new Promise((resume) => { job.resume = resume; });
}

function post(job, msg) {
  job.unread++;
  parentPort.postMessage(Object.assign({ id: job.id, type: 'piece' }, msg));
  return credit(job);
}

async function runFilter(job) {
  const needles = job.needles.map((n) => Buffer.from(n.buffer, n.byteOffset, n.byteLength));
  let lines = 0;
  let texts = [];
  let idx = [];
  let bytes = 0;
  const take = (buf, from, to) => { texts.push(buf.toString('utf8', from, to)); idx.push(lines); bytes += to - from; lines++; };
  await decompressLines(job, async (stage, end, last, whole) => {
    // A last line with no newline (the writer always ends lines) is a line all the same.
    const stop = last && end > 0 && stage[end - 1] !== NL ? end + 1 : end;
    let region = stage;
    if (stop !== end) { region = Buffer.allocUnsafe(stop); stage.copy(region, 0, 0, end); region[end] = NL; }
    const found = plainMatches(region, stop, needles, whole && job.lines !== null ? job.lines : count(region, NL, 0, stop));
    if (found === null) {
      // An entry that is not plaintext (no name can be seen in it), or a line that is no entry: every line goes back.
      for (let at = 0; at < stop; ) { const e = region.indexOf(NL, at); take(region, at, e); at = e + 1; }
    } else {
      const base = lines;
      for (let i = 0; i < found.starts.length; i++) {
        lines = base + found.idx[i];
        take(region, found.starts[i], region.indexOf(NL, found.starts[i]));
      }
      lines = base + found.lines;
    }
    if (texts.length > 0 && (bytes >= job.stage || texts.length >= 4096)) {
      const wait = post(job, { texts, idx });
      texts = [];
      idx = [];
      bytes = 0;
      if (wait) await wait;
    }
    if (!last) stage.copy(stage, 0, end);
    else if (whole) giveBack('output', stage);
    return stage;
  });
  return { texts, idx, lines };
}

async function runLines(job) {
  const content = job.mode === 'check' ? createHash('sha256') : null;
  const links = job.mode === 'check' ? linkChecker() : null;
  let contentBytes = 0;
  await decompressLines(job, async (stage, end, last) => {
    const tail = last ? 0 : stage.length - end;
    const next = last ? null : shared(Math.max(job.stage, Math.min(tail * 2, MAX_LINE_BYTES + 1)));
    if (tail > 0) stage.copy(next, 0, end);
    if (end === 0) giveBack('output', stage);
    // Region by region: the caller starts on the first while the rest is hashed here.
    for (let from = 0; from < end; ) {
      const to = from + REGION >= end ? end : lineEnd(stage, from + REGION, end);
      const cuts = cutsOf(stage, from, to);
      if (content) {
        content.update(stage.subarray(from, to));
        contentBytes += to - from;
        links.lines(stage, from, to, cuts);
      }
      const at = from;
      from = to;
      if (job.summary) continue; // nothing goes back but the summary
      const wait = post(job, { buf: stage.buffer, byteOffset: stage.byteOffset + at, length: to - at, cuts, bad: links ? links.bad : -1, recycle: to === end });
      if (wait) await wait;
      if (job.cancelled) return next;
    }
    if (job.summary && last && end > 0) giveBack('output', stage);
    return next;
  });
  // (Lines mode does not count its lines: the caller splits them.)
  return { texts: [], idx: [], lines: -1, content: content ? { sha256: content.digest('hex'), bytes: contentBytes } : null, summary: job.summary ? links.summary() : null };
}

// Every job runs as it comes, each pausing on its own when its caller reads it slowly: a job that waited
// in a queue behind one paused for credit would never start if the caller needs it first.
/** A member of a local copy is read here, at its offset: the caller's thread stays free. */
function readMember(file) {
  const out = borrow('input', file.size).subarray(0, file.size);
  let fd;
  try {
    fd = fs.openSync(file.path, 'r');
    for (let at = 0; at < file.size; ) {
      const n = fs.readSync(fd, out, at, file.size - at, file.offset + at);
      if (n === 0) throw new Failure('stored', 'the file ends inside the member');
      at += n;
    }
  } catch (err) {
    if (err instanceof Failure) throw err;
    throw new Failure('io', 'reading ' + file.path + ': ' + (err && err.code || '') + ' ' + (err && err.message || err));
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return out;
}

function releaseInput(job) {
  if (job.file && job.data) giveBack('input', Buffer.from(job.data.buffer));
  job.data = null;
}

async function run(job) {
  try {
    if (job.file) job.data = readMember(job.file);
    const r = job.mode === 'filter' ? await runFilter(job) : await runLines(job);
    if (!job.cancelled) parentPort.postMessage({ id: job.id, type: 'done', texts: r.texts, idx: r.idx, lines: r.lines, content: r.content || null, summary: r.summary || null });
  } catch (err) {
    // Only a Failure says something of the archive: anything else (a RangeError, an allocation that failed) is this thread's.
    if (!job.cancelled) parentPort.postMessage({ id: job.id, type: 'error', kind: err instanceof Failure ? err.kind : 'crash', message: String(err && err.message || err) });
  }
  releaseInput(job);
  jobs.delete(job.id);
  if (jobs.size === 0) {
    clearTimeout(idle);
    idle = setTimeout(() => { spare.input.length = 0; spare.output.length = 0; }, 3000);
  }
}

parentPort.on('message', (m) => {
  if (m.type === 'job') {
    clearTimeout(idle);
    const job = { id: m.id, mode: m.mode, file: m.file || null, data: m.data ? Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength) : null, limit: m.limit, sha256: m.sha256 || null, size: m.size, lines: m.lines ?? null, summary: !!m.summary, streamOnly: !!m.stage, stage: m.stage || STAGE, needles: m.needles || [], unread: 0, cancelled: false, resume: null };
    jobs.set(job.id, job);
    void run(job);
    return;
  }
  if (m.type === 'recycle') {
    giveBack('output', Buffer.from(m.buf));
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'ack') job.unread--;
  else if (m.type === 'cancel') job.cancelled = true;
  if (job.resume && (job.unread < CREDIT || job.cancelled)) { const r = job.resume; job.resume = null; r(); }
});
`;
