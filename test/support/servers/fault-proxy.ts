/**
 * A tiny HTTP reverse proxy on 127.0.0.1 that sits in front of a test server
 * and injects faults by plan: answer with a status (503, 500, 403...) instead
 * of forwarding, flip a byte of a request body on its way in, hold a request
 * body part-way (the server waits mid-request, for crash tests), or cut a
 * response body after some bytes. Headers (Host included, which S3
 * signatures cover) are forwarded unchanged.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';

export type FaultAction =
  | { kind: 'pass' }
  /** Answer `status` without forwarding (the request body is drained first). */
  | { kind: 'status'; status: number; body?: string; contentType?: string; headers?: Record<string, string> }
  /** Forward, flipping the request body's byte at `offset` (a corrupted upload). */
  | { kind: 'corrupt-request'; offset: number }
  /**
   * Forward the headers and the first `afterBytes` bytes of the request body, then hold the
   * rest: the server waits in the middle of the request until it or the client gives up (or
   * is killed, which the client then sees as a dropped connection).
   */
  | { kind: 'stall-request'; afterBytes: number }
  /** Forward, then drop the connection after `afterBytes` bytes of the response body. */
  | { kind: 'cut-response'; afterBytes: number };

export interface ProxiedRequest {
  /** 0-based number of this request through the proxy. */
  n: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface FaultProxy {
  endpoint: string;
  port: number;
  /** Requests seen, in order, with what was done to each. */
  log: Array<ProxiedRequest & { action: FaultAction['kind'] }>;
  /** How many requests got a fault (anything but 'pass'). */
  injected(): number;
  setPlan(plan: (r: ProxiedRequest) => FaultAction): void;
  close(): Promise<void>;
}

/** S3-style XML error body for injected statuses. */
export function s3ErrorBody(code: string, message = 'injected by the fault proxy'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`;
}

/** GCS JSON-API-style error body. */
export function gcsErrorBody(status: number, reason: string, message = 'injected by the fault proxy'): string {
  return JSON.stringify({ error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
}

/** Azure-style XML error body (the SDK also reads the code from the `x-ms-error-code` header). */
export function azureErrorBody(code: string, message = 'injected by the fault proxy'): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

/** Passes the first `limit` bytes, then holds everything after them (never calls back). */
function holdAfter(limit: number): Transform {
  let pos = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (pos >= limit) return; // held: no callback, so the source is paused by backpressure
      const room = limit - pos;
      pos += Math.min(room, chunk.length);
      if (chunk.length <= room) cb(null, chunk);
      else this.push(chunk.subarray(0, room)); // the rest is held, and so is this callback
    },
  });
}

function flipAt(offset: number): Transform {
  let pos = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (offset >= pos && offset < pos + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[offset - pos] = copy[offset - pos]! ^ 0xff;
        chunk = copy;
      }
      pos += chunk.length;
      cb(null, chunk);
    },
  });
}

export async function startFaultProxy(targetPort: number, plan: (r: ProxiedRequest) => FaultAction = () => ({ kind: 'pass' })): Promise<FaultProxy> {
  let current = plan;
  let n = 0;
  const log: FaultProxy['log'] = [];
  const server = http.createServer((req, res) => {
    const info: ProxiedRequest = { n: n++, method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    const action = current(info);
    log.push({ ...info, action: action.kind });
    if (action.kind === 'status') {
      req.resume();
      req.on('end', () => {
        const body = action.body ?? '';
        res.writeHead(action.status, { 'Content-Type': action.contentType ?? 'application/xml', 'Content-Length': Buffer.byteLength(body), ...action.headers });
        res.end(body);
      });
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, up.rawHeaders);
      if (action.kind === 'cut-response') {
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent + chunk.length >= action.afterBytes) {
            res.write(chunk.subarray(0, Math.max(0, action.afterBytes - sent)));
            sent = action.afterBytes;
            up.destroy();
            res.destroy();
            return;
          }
          sent += chunk.length;
          if (!res.write(chunk)) {
            up.pause();
            res.once('drain', () => up.resume());
          }
        });
        up.on('end', () => res.end());
        return;
      }
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (action.kind === 'corrupt-request') req.pipe(flipAt(action.offset)).pipe(upstream);
    else if (action.kind === 'stall-request') req.pipe(holdAfter(action.afterBytes)).pipe(upstream);
    else req.pipe(upstream);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    log,
    injected: () => log.filter((l) => l.action !== 'pass').length,
    setPlan: (p) => {
      current = p;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
