/**
 * The age layer's heavy part on a worker thread, as zstd is: the official implementation's
 * ChaCha20-Poly1305 (JavaScript) would otherwise run on the thread that replays the WAL (restore)
 * or reads it (create). Encrypting a staged file happens there whole; decrypting a member's payload
 * is streamed through it, the file key unwrapped here first (age-rekey.ts), so that every header
 * failure keeps the one mapping to our codes (age-keys.ts) and the worker only runs the library's
 * STREAM over the payload with the key derived from it (HKDF-SHA256(fileKey, nonce, "payload")).
 */
import { hkdfSync } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { asBriError } from '../../errors.js';
import { assertRecipients, corrupted, identityMissingError, type AgeIdentity, type AgeRecipients } from './age-keys.js';
import { unwrapFileKey } from './age-rekey.js';

const AGE_DIST = path.dirname(createRequire(import.meta.url).resolve('age-encryption'));
/** Enough for any header this code writes or reads (about 1.6 KiB per post-quantum recipient), and the nonce. */
const HEAD_BYTES = 64 * 1024;
/** Payload bytes handed to the worker and not yet taken by it. */
const IN_FLIGHT = 4 << 20;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { pathToFileURL } = require('node:url');
let lib = null;
const load = async () => {
  if (lib) return lib;
  const [index, stream] = await Promise.all([import(pathToFileURL(workerData.dist + '/index.js').href), import(pathToFileURL(workerData.dist + '/stream.js').href)]);
  lib = { Encrypter: index.Encrypter, decryptSTREAM: stream.decryptSTREAM };
  return lib;
};
const jobs = new Map();
const fail = (id, err) => parentPort.postMessage({ type: 'error', id, message: String((err && err.message) || err) });
async function encryptFile(m) {
  const { Encrypter } = await load();
  const e = new Encrypter();
  if (m.passphrase !== undefined) e.setPassphrase(m.passphrase);
  for (const r of m.recipients) e.addRecipient(r);
  const out = await e.encrypt(ReadableStream.from(fs.createReadStream(m.inPath, { highWaterMark: 1 << 20 })));
  const fd = fs.openSync(m.outPath, 'w', 0o600);
  const hash = crypto.createHash('sha256');
  let size = 0;
  try {
    for await (const c of out) {
      hash.update(c);
      size += c.length;
      for (let at = 0; at < c.length; ) at += fs.writeSync(fd, c, at, c.length - at);
    }
    if (m.sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  parentPort.postMessage({ type: 'done', id: m.id, size, sha256: hash.digest('hex') });
}
async function openPayload(m) {
  const { decryptSTREAM } = await load();
  const t = decryptSTREAM(new Uint8Array(m.key));
  const writer = t.writable.getWriter();
  (async () => {
    const reader = t.readable.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        parentPort.postMessage({ type: 'out', id: m.id, chunk: r.value });
      }
      parentPort.postMessage({ type: 'end', id: m.id });
    } catch (err) {
      fail(m.id, err);
    } finally {
      jobs.delete(m.id);
    }
  })();
  return writer;
}
parentPort.on('message', (m) => {
  if (m.type === 'encrypt-file') encryptFile(m).catch((err) => fail(m.id, err));
  // The writer is a promise, set at once: data that comes while the library loads waits for it, in order.
  else if (m.type === 'open') {
    const w = openPayload(m);
    jobs.set(m.id, w);
    w.catch((err) => fail(m.id, err));
  } else if (m.type === 'data') {
    const w = jobs.get(m.id);
    if (w) w.then((x) => x.write(m.chunk)).then(() => parentPort.postMessage({ type: 'ack', id: m.id, n: m.chunk.length }), () => undefined);
  } else if (m.type === 'close') {
    const w = jobs.get(m.id);
    if (w) w.then((x) => x.close()).catch(() => undefined);
  } else if (m.type === 'abort') {
    const w = jobs.get(m.id);
    jobs.delete(m.id);
    if (w) w.then((x) => x.abort()).catch(() => undefined);
  }
});
`;

interface Job {
  onMessage(m: WorkerMessage): void;
  onFailure(err: Error): void;
}

type WorkerMessage =
  | { type: 'done'; id: number; size: number; sha256: string }
  | { type: 'out'; id: number; chunk: Uint8Array }
  | { type: 'ack'; id: number; n: number }
  | { type: 'end'; id: number }
  | { type: 'error'; id: number; message: string };

let shared: { worker: Worker; jobs: Map<number, Job>; next: number } | null = null;

function pool(): NonNullable<typeof shared> {
  if (shared) return shared;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { dist: AGE_DIST } });
  const s = { worker, jobs: new Map<number, Job>(), next: 1 };
  worker.on('message', (m: WorkerMessage) => s.jobs.get(m.id)?.onMessage(m));
  const failAll = (err: Error) => {
    for (const j of s.jobs.values()) j.onFailure(err);
    s.jobs.clear();
    if (shared === s) shared = null;
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the age worker exited (code ${code})`)));
  worker.unref();
  shared = s;
  return s;
}

function start(job: Job): { id: number; post(m: object, transfer?: ArrayBuffer[]): void; finish(): void } {
  const p = pool();
  const id = p.next++;
  p.jobs.set(id, job);
  p.worker.ref();
  return {
    id,
    post: (m, transfer) => p.worker.postMessage({ ...m, id }, transfer ?? []),
    finish: () => {
      p.jobs.delete(id);
      if (p.jobs.size === 0) p.worker.unref();
    },
  };
}

/** encryptFile (age-stream.ts) on the worker: the staged file at `inPath` encrypted for `to` into `outPath`. */
export async function encryptFileOffThread(inPath: string, outPath: string, to: AgeRecipients, sync = true): Promise<{ size: number; sha256: string }> {
  assertRecipients(to);
  return new Promise((resolve, reject) => {
    const job = start({
      onMessage(m) {
        job.finish();
        if (m.type === 'done') resolve({ size: m.size, sha256: m.sha256 });
        else reject(asBriError(new Error(m.type === 'error' ? m.message : 'unexpected answer'), `encrypting ${path.basename(inPath)} with age`));
      },
      onFailure: (err) => reject(asBriError(err, `encrypting ${path.basename(inPath)} with age`)),
    });
    job.post({ type: 'encrypt-file', inPath, outPath, recipients: to.recipients, ...(to.passphrase !== undefined ? { passphrase: to.passphrase } : {}), sync });
  });
}

/**
 * decryptChunks (age-stream.ts) with the payload decrypted on the worker: the same errors (no
 * identity, no identity that opens it, a damaged header, payload or end), naming `member`.
 */
export async function* decryptChunksOffThread(stored: AsyncIterable<Uint8Array>, identity: AgeIdentity | null, member: string): AsyncGenerator<Buffer> {
  if (identity === null || identity.identities.length + identity.passphrases.length === 0) throw identityMissingError(member);
  const it = stored[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let have = 0;
  let inputDone = false;
  while (have < HEAD_BYTES) {
    const r = await it.next();
    if (r.done) {
      inputDone = true;
      break;
    }
    parts.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
    have += r.value.byteLength;
  }
  const head = Buffer.concat(parts);
  const { fileKey, headerLength } = await unwrapFileKey(head, identity, member);
  if (head.length < headerLength + 16) throw corrupted(member, 'ends right after its age header (truncated)');
  const key = Buffer.from(hkdfSync('sha256', fileKey, head.subarray(headerLength, headerLength + 16), 'payload', 32));

  const out: Buffer[] = [];
  let ended = false;
  let failure: Error | null = null;
  let inFlight = 0;
  // The reader of the output and the pump of the input may both be waiting: each change wakes both.
  let waiters: Array<() => void> = [];
  const poke = () => {
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  const wait = () => new Promise<void>((r) => waiters.push(r));
  const job = start({
    onMessage(m) {
      if (m.type === 'out') out.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
      else if (m.type === 'ack') inFlight -= m.n;
      else if (m.type === 'end') ended = true;
      else if (m.type === 'error') failure = corrupted(member, 'its age payload fails authentication (damaged, truncated or with data after its end)', new Error(m.message));
      poke();
    },
    onFailure(err) {
      failure = err;
      poke();
    },
  });
  job.post({ type: 'open', key });
  // The input is handed over while the output is taken: at most IN_FLIGHT bytes not yet taken by the worker.
  const send = (b: Buffer) => {
    inFlight += b.length;
    const copy = new Uint8Array(b.length);
    copy.set(b);
    job.post({ type: 'data', chunk: copy }, [copy.buffer]);
  };
  const pump = (async () => {
    send(head.subarray(headerLength + 16));
    while (!inputDone && !failure) {
      const r = await it.next();
      if (r.done) break;
      send(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
      while (inFlight > IN_FLIGHT && !failure) await wait();
    }
    if (!failure) job.post({ type: 'close' });
  })();
  pump.catch((err: unknown) => {
    failure ??= err as Error;
    poke();
  });
  try {
    for (;;) {
      if (out.length > 0) {
        yield out.shift()!;
        continue;
      }
      if (failure) throw failure;
      if (ended) break;
      await wait();
    }
    await pump;
  } finally {
    if (!ended) job.post({ type: 'abort' });
    job.finish();
  }
}
