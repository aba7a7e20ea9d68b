/** HTTP plumbing of the GCS test server: JSON API errors and bodies, multipart/related parsing. */
import type * as http from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: http.ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: { code: err.status, message: err.message, errors: [{ domain: 'global', reason: err.reason, message: err.message }] } });
}

export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new HttpError(413, `request body larger than ${limit} bytes`, 'uploadTooLarge');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

export function rfc3339(d: Date): string {
  return d.toISOString();
}

export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Splits a multipart/related body into parts (headers lower-cased). */
export function splitMultipart(body: Buffer, boundary: string): Array<{ headers: Record<string, string>; body: Buffer }> {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Array<{ headers: Record<string, string>; body: Buffer }> = [];
  let pos = body.indexOf(delim);
  if (pos < 0) return parts;
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), pos);
    if (next < 0) break;
    const part = body.subarray(pos, next);
    const sep = part.indexOf('\r\n\r\n');
    const headerText = sep >= 0 ? part.subarray(0, sep).toString('utf8') : '';
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ headers, body: sep >= 0 ? part.subarray(sep + 4) : Buffer.alloc(0) });
    pos = next + 2;
  }
  return parts;
}
