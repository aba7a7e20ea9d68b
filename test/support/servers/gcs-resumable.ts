/**
 * Resumable upload sessions of the GCS test server (JSON API "resumable"
 * uploads): PUT chunks with `Content-Range: bytes a-b/total|*`, 308 Resume
 * Incomplete with `Range: bytes=0-n` (no Range header while nothing is
 * persisted), `bytes * /total` status checks, DELETE cancels with 499. Bytes
 * of a chunk cut short by a dropped connection stay persisted, so a client
 * can ask for the status and resume.
 */
import { createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import type * as http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { crc32cUpdate } from '../../../src/remote/crc32c.js';
import { HttpError, readBody } from './gcs-http.js';
import type { StoredObject } from './gcs-server.js';

const RESUME_INCOMPLETE = 308;

export interface UploadSession {
  id: string;
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string>;
  storageClass?: string;
  expected: { md5?: string; crc32c?: string };
  ifGenerationMatch?: string;
  file: string;
  received: number;
  total?: number;
  md5: Hash;
  crc: number;
  done?: StoredObject;
  cancelled?: boolean;
  busy?: boolean;
}

/** Completes a session whose bytes have all arrived (stores the object and answers 200 with it). */
export type FinishSession = (req: http.IncomingMessage, res: http.ServerResponse, s: UploadSession) => Promise<void>;
/** Answers a request on a session that already completed (200 with the object). */
export type AnswerDone = (req: http.IncomingMessage, res: http.ServerResponse, s: UploadSession) => void;

export class ResumableUploads {
  readonly sessions = new Map<string, UploadSession>();

  constructor(
    private readonly finishSession: FinishSession,
    private readonly answerDone: AnswerDone,
  ) {}

  add(s: UploadSession): void {
    this.sessions.set(s.id, s);
  }

  forget(id: string): void {
    this.sessions.delete(id);
  }

  private incomplete(res: http.ServerResponse, s: UploadSession): void {
    const headers: Record<string, string> = { 'Content-Length': '0', 'X-GUploader-UploadID': s.id };
    // No Range header means no byte has been persisted yet.
    if (s.received > 0) headers.Range = `bytes=0-${s.received - 1}`;
    res.writeHead(RESUME_INCOMPLETE, headers);
    res.end();
  }

  async chunk(req: http.IncomingMessage, res: http.ServerResponse, id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (s === undefined || s.cancelled) throw new HttpError(404, 'No such upload session (it expired or was cancelled).', 'notFound');
    if (s.done !== undefined) {
      await readBody(req, Number.POSITIVE_INFINITY);
      return this.answerDone(req, res, s);
    }
    const cr = req.headers['content-range'];
    const hashHeader = req.headers['x-goog-hash'];
    if (typeof hashHeader === 'string') {
      for (const part of hashHeader.split(',')) {
        const eq = part.indexOf('=');
        const k = part.slice(0, eq).trim();
        const v = part.slice(eq + 1).trim();
        if (k === 'md5') s.expected.md5 = v;
        if (k === 'crc32c') s.expected.crc32c = v;
      }
    }
    let first: number | null = null;
    let last: number | null = null;
    let total: number | undefined = s.total;
    if (typeof cr === 'string') {
      const m = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(cr.trim());
      if (!m) throw new HttpError(400, `Invalid Content-Range ${cr}`, 'invalid');
      if (m[1] !== undefined) {
        first = Number(m[1]);
        last = m[2] === '*' ? null : Number(m[2]);
      }
      if (m[3] !== '*') total = Number(m[3]);
    } else {
      first = s.received === 0 ? 0 : null;
    }
    if (total !== undefined) s.total = total;
    if (first === null) {
      // A status check (`bytes */total`): no body.
      await readBody(req, 0).catch(() => undefined);
      if (s.total !== undefined && s.received === s.total) return this.finishSession(req, res, s);
      return this.incomplete(res, s);
    }
    if (s.busy) throw new HttpError(503, 'A chunk for this upload is already being received.', 'backendError');
    if (first > s.received) throw new HttpError(400, `Content-Range starts at ${first} but only ${s.received} bytes were persisted`, 'invalid');
    s.busy = true;
    let skip = s.received - first;
    const out = createWriteStream(s.file, { flags: 'a' });
    let failed = false;
    try {
      await pipeline(
        req,
        async function* (source) {
          for await (const c of source) {
            let chunk = c as Buffer;
            if (skip > 0) {
              const drop = Math.min(skip, chunk.length);
              skip -= drop;
              chunk = chunk.subarray(drop);
              if (chunk.length === 0) continue;
            }
            if (s.total !== undefined && s.received + chunk.length > s.total) throw new HttpError(400, 'more bytes than the declared total', 'invalid');
            s.md5.update(chunk);
            s.crc = crc32cUpdate(s.crc, chunk);
            s.received += chunk.length;
            yield chunk;
          }
        },
        out,
      );
    } catch (err) {
      failed = true;
      if (err instanceof HttpError) throw err;
      // The client went away mid-chunk: what arrived is persisted; it may resume.
      res.destroy();
      return;
    } finally {
      s.busy = false;
      if (failed) out.destroy();
    }
    if (last !== null && s.received < last + 1 && s.total !== undefined && last + 1 === s.total) {
      // The final chunk arrived short: not complete.
      return this.incomplete(res, s);
    }
    const endKnown = s.total ?? (last === null ? s.received : undefined);
    if (endKnown !== undefined && s.received === endKnown) {
      s.total = endKnown;
      return this.finishSession(req, res, s);
    }
    return this.incomplete(res, s);
  }

  async cancel(req: http.IncomingMessage, res: http.ServerResponse, id: string): Promise<void> {
    const s = this.sessions.get(id);
    await readBody(req, 1024).catch(() => undefined);
    if (s === undefined) throw new HttpError(404, 'No such upload session.', 'notFound');
    s.cancelled = true;
    this.sessions.delete(id);
    await fsp.rm(s.file, { force: true });
    res.writeHead(499, { 'Content-Length': '0' });
    res.end();
  }

  /** Number of live (unfinished, uncancelled) resumable sessions, for tests. */
  open(): number {
    return [...this.sessions.values()].filter((s) => s.done === undefined && !s.cancelled).length;
  }
}
