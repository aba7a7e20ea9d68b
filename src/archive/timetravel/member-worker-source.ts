/**
 * The source of a member decoder thread (started with `eval`: a worker cannot load a .ts module under
 * tsx or vitest, a string works compiled or not). It takes one WAL member's compressed bytes at a time
 * and does the work that needs no state: zstd decompression (refusing to pass the size the manifest
 * declared) and, in `filter` mode, the search of the decompressed bytes for some names' JSON forms, so
 * that only the lines that name one come back as text (a history is about 1 line in 10,000). In
 * `lines` mode it hands back the decompressed bytes cut at line ends. At most CREDIT pieces of a job
 * wait unread before it pauses (`ack` resumes it); the thread goes on with its other jobs meanwhile.
 *
 * A piece with an entry that is not plaintext (BRI's encryption at rest: no name can be seen) comes
 * back whole, line by line: the caller decides about it after decrypting.
 */
export const MEMBER_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.bindingPath);
const NL = 0x0a;
const PLAIN = Buffer.from('|{"action":"');
const STAGE = 1 << 20;
const CUT = 64 * 1024;
const CREDIT = 4;
const jobs = new Map();

function count(buf, what, from, to) {
  let n = 0;
  const step = typeof what === 'number' ? 1 : what.length;
  for (let at = buf.indexOf(what, from); at >= 0 && at < to; at = buf.indexOf(what, at + step)) n++;
  return n;
}

class Failure extends Error { constructor(kind, message) { super(message); this.kind = kind; } }

/** Decompresses data, calling emit(stage, end, last) with stage[0, end) whole lines (all of it when last); emit returns the next stage. */
async function decompressLines(job, emit) {
  const dctx = new binding.DCtx();
  let stage = Buffer.allocUnsafeSlow(job.stage);
  let fill = 0;
  let total = 0;
  let src = job.data;
  for (;;) {
    if (fill === stage.length) {
      // One line longer than the stage: grow it.
      const bigger = Buffer.allocUnsafeSlow(stage.length * 2);
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
    stage = await emit(stage, end, done);
    if (job.cancelled || done) return;
    fill -= end;
  }
}

/** Waits until the caller has read enough of this job's pieces. */
function credit(job) {
  if (job.unread < CREDIT || job.cancelled) return null;
  return new Promise((resume) => { job.resume = resume; });
}

function post(job, msg, transfer) {
  job.unread++;
  parentPort.postMessage(Object.assign({ id: job.id, type: 'piece' }, msg), transfer);
  return credit(job);
}

async function runFilter(job) {
  const needles = job.needles.map((n) => Buffer.from(n.buffer, n.byteOffset, n.byteLength));
  let lines = 0;
  let texts = [];
  let idx = [];
  let bytes = 0;
  const take = (buf, from, to) => { texts.push(buf.toString('utf8', from, to)); idx.push(lines); bytes += to - from; lines++; };
  await decompressLines(job, async (stage, end, last) => {
    // A last line with no newline (the writer always ends lines) is a line all the same.
    const stop = last && end > 0 && stage[end - 1] !== NL ? end + 1 : end;
    let region = stage;
    if (stop !== end) { region = Buffer.allocUnsafe(stop); stage.copy(region, 0, 0, end); region[end] = NL; }
    const n = count(region, NL, 0, stop);
    if (count(region, PLAIN, 0, stop) !== n) {
      for (let at = 0; at < stop; ) { const e = region.indexOf(NL, at); take(region, at, e); at = e + 1; }
    } else {
      let starts = [];
      for (const needle of needles) {
        for (let at = region.indexOf(needle, 0); at >= 0 && at < stop; ) {
          starts.push(region.lastIndexOf(NL, at) + 1);
          at = region.indexOf(needle, region.indexOf(NL, at) + 1);
        }
      }
      if (needles.length > 1) starts = [...new Set(starts)].sort((a, b) => a - b);
      const base = lines;
      let pos = 0;
      for (const s of starts) {
        lines += count(region, NL, pos, s);
        const e = region.indexOf(NL, s);
        take(region, s, e);
        pos = e + 1;
      }
      lines = base + n;
    }
    if (texts.length > 0 && (bytes >= job.stage || texts.length >= 4096)) {
      const wait = post(job, { texts, idx });
      texts = [];
      idx = [];
      bytes = 0;
      if (wait) await wait;
    }
    stage.copy(stage, 0, end);
    return stage;
  });
  return { texts, idx, lines };
}

async function runLines(job) {
  let lines = 0;
  await decompressLines(job, async (stage, end, last) => {
    // Cut at line ends about every CUT bytes: the caller turns each cut into one string (kept under V8's large-object size).
    const cuts = [];
    for (let pos = 0; pos < end; ) {
      let e = Math.min(pos + CUT, end);
      if (e < end) {
        const nl = stage.lastIndexOf(NL, e - 1);
        e = (nl >= pos ? nl : stage.indexOf(NL, e)) + 1;
      }
      cuts.push(e);
      pos = e;
    }
    lines += count(stage, NL, 0, end) + (last && end > 0 && stage[end - 1] !== NL ? 1 : 0);
    const tail = last ? 0 : stage.length - end;
    const next = Buffer.allocUnsafeSlow(Math.max(job.stage, tail * 2));
    if (tail > 0) stage.copy(next, 0, end);
    const wait = post(job, { buf: stage.buffer, length: end, cuts: Int32Array.from(cuts) }, [stage.buffer]);
    if (wait) await wait;
    return next;
  });
  return { texts: [], idx: [], lines };
}

// Every job runs as it comes, each pausing on its own when its caller reads it slowly: a job that waited
// in a queue behind one paused for credit would never start if the caller needs it first.
async function run(job) {
  try {
    const r = job.mode === 'filter' ? await runFilter(job) : await runLines(job);
    if (!job.cancelled) parentPort.postMessage({ id: job.id, type: 'done', texts: r.texts, idx: r.idx, lines: r.lines });
  } catch (err) {
    if (!job.cancelled) parentPort.postMessage({ id: job.id, type: 'error', kind: err.kind || 'damaged', message: String(err && err.message || err) });
  }
  job.data = null;
  jobs.delete(job.id);
}

parentPort.on('message', (m) => {
  if (m.type === 'job') {
    const job = { id: m.id, mode: m.mode, data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), limit: m.limit, stage: m.stage || STAGE, needles: m.needles || [], unread: 0, cancelled: false, resume: null };
    jobs.set(job.id, job);
    void run(job);
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'ack') job.unread--;
  else if (m.type === 'cancel') job.cancelled = true;
  if (job.resume && (job.unread < CREDIT || job.cancelled)) { const r = job.resume; job.resume = null; r(); }
});
`;
