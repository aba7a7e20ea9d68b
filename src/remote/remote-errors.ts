/**
 * Turning SDK and network failures into our errors, once, at the provider
 * boundary: REMOTE_NOT_FOUND for a missing object, bucket or container;
 * REMOTE_ERROR for the rest, with `details.retryable` for the retry wrapper;
 * CANCELLED for a call its caller aborted (and only then: an SDK's
 * AbortError while the caller's signal has not fired is a dropped
 * connection). Messages and causes are scrubbed of credentials.
 */
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import type { TimeoutWatch } from './timeouts.js';
import type { ProviderName } from './remote.js';

/** Network failures worth another try (connection reset, timeouts, refused while a server restarts). */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'REQUEST_SEND_ERROR',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
]);

/** Service error codes that mean "slow down" or "try later", whatever the HTTP status. */
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'ServerBusy',
  'OperationTimedOut',
  'InternalError',
  'ServiceUnavailable',
  'rateLimitExceeded',
  'backendError',
]);

const BUCKET_MISSING_CODES: ReadonlySet<string> = new Set(['NoSuchBucket', 'ContainerNotFound', 'ContainerBeingDeleted']);
const AUTH_CODES: ReadonlySet<string> = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'InvalidAuthenticationInfo',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
  'forbidden',
  'unauthorized',
]);

/** Where a failure happened, for the message. */
export interface RemoteErrorContext {
  provider: ProviderName;
  /** 'put', 'get', 'head', 'list', 'delete', 'lifecycle'... */
  op: string;
  /** Key or prefix (relative), when the operation has one. */
  key?: string;
  /** Bucket or container, for hints. */
  bucket?: string;
  /** Strings that must never appear in a message (keys, tokens, connection strings). */
  secrets?: readonly string[];
  /**
   * The caller's signal, where the call has one. An abort-shaped failure (AbortError) is
   * CANCELLED only when this signal fired: otherwise nobody cancelled, and it is how an SDK
   * reports a dropped connection (Azure's download stream), a retryable REMOTE_ERROR.
   */
  signal?: AbortSignal | undefined;
  /** The call's connect and idle limits; `fired` says which one ended a request of it. */
  timeouts?: TimeoutWatch;
  /** Where the store's requests go (display form, no credentials), for timeout messages. */
  endpoint?: string;
}

/** What we could read off a foreign error. */
export interface FailureFacts {
  status?: number;
  /** Service error code or Node error code ('NoSuchKey', 'ECONNRESET'...). */
  code?: string;
  message: string;
}

// Signed-URL and connection-string parameters that carry secrets. The private key block goes
// first, so that a header pattern cannot eat its BEGIN line and leave the body behind.
const SECRET_PATTERNS: readonly RegExp[] = [
  /(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)/g,
  // After any separator, as a proxy's error page or a JSON body echoes a URL: `&`, `?`, `;` (`&amp;sig=`), or
  // one URL- or JSON-encoded (`%26sig%3D`, `\u0026sig=`).
  /((?:\b|%26|%3F|%3B|\\u0026)(?:sig|signature|token|access_token)(?:=|%3D))[^&\s"'<>;]*/gi,
  /(\b(?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential)=)[^&\s"'<>]*/gi,
  /(\b(?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s"'<>]*/gi,
  /(\bAuthorization:\s*)[^\r\n"']*/gi,
  /(\bBearer\s+)[A-Za-z0-9._~+/=-]+/g,
];

/**
 * The signature of a SAS given as a secret (a token, or a connection string's SharedAccessSignature), as
 * written and decoded: a text that quotes the token escaped (`&amp;`, `%26`) no longer holds it whole,
 * while the signature itself is still there.
 */
function sasSignatures(secret: string): string[] {
  const sig = /(?:^|[?&;])sig=([^&;\s]+)/i.exec(secret)?.[1];
  if (sig === undefined) return [];
  try {
    return [sig, decodeURIComponent(sig)];
  } catch {
    return [sig];
  }
}

/** Removes secrets (given ones, and signature-like URL/connection-string parts) from a text. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of [...secrets, ...secrets.flatMap(sasSignatures)]) {
    if (secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  for (const re of SECRET_PATTERNS) out = out.replace(re, (_m, a: string, b?: string) => (typeof b === 'string' && b.startsWith('-----END') ? `${a}***${b}` : `${a}***`));
  return out;
}

/** An endpoint URL for display: scheme, host and path; no user info, query (SAS) or fragment. */
export function displayEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined;
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(invalid endpoint)';
  }
}

/** Reads status, code and message off an AWS, Google, Azure or Node error. */
export function failureFacts(err: unknown): FailureFacts {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as Record<string, unknown> & { $metadata?: { httpStatusCode?: number }; response?: { status?: number }; errors?: unknown };
  let status: number | undefined;
  if (typeof e.$metadata?.httpStatusCode === 'number') status = e.$metadata.httpStatusCode;
  else if (typeof e.statusCode === 'number') status = e.statusCode;
  else if (typeof e.code === 'number') status = e.code;
  else if (typeof e.status === 'number') status = e.status;
  else if (typeof e.response?.status === 'number') status = e.response.status;
  let code: string | undefined;
  if (typeof e.Code === 'string') code = e.Code;
  else if (typeof e.code === 'string') code = e.code;
  else if (typeof e.name === 'string' && e.name !== 'Error' && e.name !== 'RestError' && e.name !== 'ApiError' && e.name !== 'GaxiosError') code = e.name;
  // Google's ApiError carries the reason ('notFound', 'forbidden'...) in errors[0].reason.
  if (Array.isArray(e.errors)) {
    const reason = (e.errors[0] as { reason?: unknown } | undefined)?.reason;
    if (typeof reason === 'string' && code === undefined) code = reason;
  }
  const cause = e.cause as { code?: unknown } | undefined;
  if (code === undefined && typeof cause?.code === 'string') code = cause.code;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(code ?? status ?? 'unknown error');
  // @google-cloud/storage's resumable upload gives up with a plain Error whose message carries
  // the facts: "Retry limit exceeded - status: 503 - ... - code: ECONNRESET".
  if (status === undefined) {
    const m = /\bstatus: (\d{3})\b/.exec(message);
    if (m) status = Number(m[1]);
  }
  if (code === undefined) {
    const m = /\bcode: ([A-Z][A-Z_]+)\b/.exec(message);
    if (m) code = m[1];
  }
  return { ...(status !== undefined ? { status } : {}), ...(code !== undefined ? { code } : {}), message };
}

/** Whether a failure is worth retrying: 5xx, 408, 429, throttling, dropped connections. */
export function isTransientFailure(f: FailureFacts): boolean {
  if (f.code !== undefined && (TRANSIENT_NETWORK_CODES.has(f.code) || THROTTLING_CODES.has(f.code))) return true;
  if (f.status !== undefined && (f.status >= 500 || f.status === 408 || f.status === 429)) return true;
  if (f.status === undefined && /socket hang up|ECONNRESET|ETIMEDOUT|EPIPE|ECONNREFUSED|other side closed|premature close/i.test(f.message)) return true;
  return false;
}

function isAbort(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'AbortError' || e.code === 'ABORT_ERR' || e.code === 'ERR_ABORTED';
}

/** A plain Error standing in for the SDK's (which may hold request URLs and headers): name, code, status and a scrubbed message. */
export function sanitizedCause(err: unknown, secrets: readonly string[] = []): Error {
  const f = failureFacts(err);
  const out = new Error(redact(f.message, secrets));
  const name = (err as { name?: unknown } | null)?.name;
  if (typeof name === 'string') out.name = name;
  Object.assign(out, f.code !== undefined ? { code: f.code } : {}, f.status !== undefined ? { status: f.status } : {});
  return out;
}

function where(ctx: RemoteErrorContext): string {
  return `${ctx.provider}: ${ctx.op}${ctx.key !== undefined ? ` ${ctx.key}` : ''}`;
}

/**
 * Which limit ended a failed call, if one did: the call's watch saw it fire (Azure, GCS: the SDK
 * may report only a reset), or the message is a timeout's (ours, or S3's NodeHttpHandler's). A
 * failure with an HTTP status is the server's answer, whatever timed out before it.
 */
function timeoutPhase(f: FailureFacts, watch: TimeoutWatch | undefined): 'connect' | 'idle' | undefined {
  if (f.status !== undefined) return undefined;
  if (watch?.fired !== undefined) return watch.fired;
  if (/\(idle timeout\)|timed out after \d+ ms of inactivity/.test(f.message)) return 'idle';
  if (/\(connect timeout\)|did not establish a connection with the server within/.test(f.message)) return 'connect';
  return undefined;
}

/**
 * The REMOTE_ERROR of a call that hit its connect or idle timeout: transient, so the retry wrapper
 * tries again. `what` replaces the standard account of what was waited for (a download that stalled part-way).
 */
export function timedOut(
  ctx: RemoteErrorContext,
  phase: 'connect' | 'idle',
  opts: { ms?: number | undefined; what?: string; details?: Record<string, unknown>; cause?: Error } = {},
): BriError {
  const ms = opts.ms ?? (phase === 'connect' ? ctx.timeouts?.connectMs : ctx.timeouts?.idleMs);
  const limit = ms !== undefined ? `${ms} ms` : 'the configured time';
  const container = ctx.provider === 'azure' ? 'container' : 'bucket';
  const server = `${ctx.endpoint ?? `the ${ctx.provider} service`}${ctx.bucket !== undefined ? ` (${container} '${ctx.bucket}')` : ''}`;
  const what = opts.what ?? (phase === 'connect' ? `no connection within ${limit} (connect timeout)` : `no byte moved for ${limit} (idle timeout)`);
  return new BriError(ErrorCodes.REMOTE_ERROR, redact(`${where(ctx)}: timed out talking to ${server}: ${what}`, ctx.secrets), {
    hint: `check that ${ctx.endpoint ?? 'the endpoint'} is reachable and answering (network, proxy, firewall, a hung server); if it is only slow, raise timeouts.${phase === 'connect' ? 'connectMs' : 'idleMs'} in this remote's configuration`,
    details: { provider: ctx.provider, op: ctx.op, ...(ctx.key !== undefined ? { key: ctx.key } : {}), ...opts.details, retryable: true, timedOut: phase, ...(ms !== undefined ? { timeoutMs: ms } : {}) },
    ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
  });
}

/** A REMOTE_ERROR of our own (integrity, confirmation), not wrapping a foreign error. */
export function remoteFailure(ctx: RemoteErrorContext, message: string, opts: { hint?: string; details?: Record<string, unknown>; retryable?: boolean } = {}): BriError {
  return new BriError(ErrorCodes.REMOTE_ERROR, redact(`${where(ctx)}: ${message}`, ctx.secrets), {
    ...(opts.hint !== undefined ? { hint: opts.hint } : {}),
    details: { provider: ctx.provider, op: ctx.op, ...(ctx.key !== undefined ? { key: ctx.key } : {}), retryable: opts.retryable ?? false, ...opts.details },
  });
}

/** A REMOTE_NOT_FOUND for an object. */
export function notFound(ctx: RemoteErrorContext, cause?: unknown): BriError {
  return new BriError(ErrorCodes.REMOTE_NOT_FOUND, `${where(ctx)}: no such object`, {
    hint: 'check the key and the store prefix; `list` shows what is there',
    details: { provider: ctx.provider, op: ctx.op, ...(ctx.key !== undefined ? { key: ctx.key } : {}), retryable: false, missing: 'object' },
    ...(cause !== undefined ? { cause: sanitizedCause(cause, ctx.secrets) } : {}),
  });
}

/** True for an object that is in an archive tier (S3 Glacier, Azure Archive) and must be thawed before it can be read. */
export function isColdObject(err: unknown): boolean {
  return isBriError(err, ErrorCodes.REMOTE_ERROR) && err.details.cold === true;
}

/** True for a REMOTE_NOT_FOUND about the object itself (not its bucket, container or directory: those are configuration faults). */
export function isMissingObject(err: unknown): boolean {
  return isBriError(err, ErrorCodes.REMOTE_NOT_FOUND) && err.details.missing === 'object';
}

/**
 * Maps a foreign error to a BriError (a BriError passes through unchanged).
 * `objectMissing` tells whether a 404 here means the object (true) or the
 * bucket/container (false; default: decided from the error code).
 */
export function toRemoteError(err: unknown, ctx: RemoteErrorContext, objectMissing?: boolean): BriError {
  if (isBriError(err)) return err;
  const secrets = ctx.secrets ?? [];
  if (isAbort(err) && ctx.signal?.aborted === true) return cancelled(ctx, err);
  const f = failureFacts(err);
  const cause = sanitizedCause(err, secrets);
  const base = { provider: ctx.provider, op: ctx.op, ...(ctx.key !== undefined ? { key: ctx.key } : {}), ...(f.status !== undefined ? { status: f.status } : {}), ...(f.code !== undefined ? { remoteCode: f.code } : {}) };
  const text = redact(f.message, secrets);
  const phase = timeoutPhase(f, ctx.timeouts);
  if (phase !== undefined) return timedOut(ctx, phase, { details: base, cause });
  if (isAbort(err)) {
    // Not the caller's abort: the SDK gave up on the connection (Azure's download stream turns a
    // response cut short into an AbortError). Another try, or a resumed download, may help.
    return new BriError(ErrorCodes.REMOTE_ERROR, `${where(ctx)}: the connection was aborted (no cancellation was asked for): ${text}`, {
      hint: 'a transient failure (connection lost): try again later',
      details: { ...base, retryable: true, dropped: true },
      cause,
    });
  }
  const container = ctx.provider === 'azure' ? 'container' : 'bucket';
  const bucketMissing =
    (f.code !== undefined && BUCKET_MISSING_CODES.has(f.code)) || (f.status === 404 && /bucket does not exist|no such bucket|container does not exist/i.test(f.message));
  if (bucketMissing || (f.status === 404 && objectMissing === false)) {
    return new BriError(ErrorCodes.REMOTE_NOT_FOUND, `${where(ctx)}: the ${container}${ctx.bucket !== undefined ? ` '${ctx.bucket}'` : ''} does not exist`, {
      hint: `create the ${container} first, or fix the ${container} name in the remote configuration`,
      details: { ...base, retryable: false, missing: container },
      cause,
    });
  }
  if (f.status === 404 || f.code === 'NoSuchKey' || f.code === 'NotFound' || f.code === 'BlobNotFound') {
    return notFound(ctx, err);
  }
  // An object a lifecycle rule moved to an archive tier (S3 Glacier, Azure Archive): readable only once restored.
  if (f.code === 'InvalidObjectState' || f.code === 'BlobArchived') {
    return new BriError(ErrorCodes.REMOTE_ERROR, `${where(ctx)}: the object is in an archive tier (${f.code}) and cannot be read until it is restored`, {
      hint: 'Ask for it back with `bri archive thaw <id> --source <name>` (db.archive.thaw); S3 Glacier takes minutes (expedited) to hours (standard, bulk), Azure Archive hours; then try again.',
      details: { ...base, retryable: false, cold: true },
      cause,
    });
  }
  if (f.status === 401 || f.status === 403 || (f.code !== undefined && AUTH_CODES.has(f.code))) {
    return new BriError(ErrorCodes.REMOTE_ERROR, `${where(ctx)}: access denied (${f.code ?? f.status ?? 'auth'}): ${text}`, {
      hint: `check the ${ctx.provider} credentials and their permissions on the ${container}${ctx.bucket !== undefined ? ` '${ctx.bucket}'` : ''} (and the system clock, for signed requests)`,
      details: { ...base, retryable: false, auth: true },
      cause,
    });
  }
  if (f.status === 416 || f.code === 'InvalidRange') {
    return new BriError(ErrorCodes.REMOTE_ERROR, `${where(ctx)}: the requested range is not satisfiable`, {
      hint: 'ask for a range that starts inside the object (see `head` for its size)',
      details: { ...base, retryable: false },
      cause,
    });
  }
  const retryable = isTransientFailure(f);
  return new BriError(ErrorCodes.REMOTE_ERROR, `${where(ctx)}: ${text}`, {
    ...(retryable ? { hint: 'a transient failure (server busy or connection lost): try again later' } : {}),
    details: { ...base, retryable },
    cause,
  });
}

/**
 * Tells a missing bucket (or container) from a missing object after the
 * body-less 404 of a HEAD request (S3 HeadObject, Azure Get Blob Properties),
 * which carries no error code to say which: when such a 404 comes back, the
 * bucket is asked about (`probe`: true when it exists). That it exists is
 * remembered for the life of the store; that it is missing is not (it may be
 * created meanwhile). A probe that fails (permissions, network) tells nothing:
 * the object is reported missing, as before.
 */
export class BucketCheck {
  private exists = false;

  constructor(private readonly probe: (signal?: AbortSignal) => Promise<boolean>) {}

  /** The bucket is known to exist (a request on an object in it succeeded). */
  found(): void {
    this.exists = true;
  }

  /**
   * `mapped` (the 404 of an object request, mapped) when it is a missing object and the bucket
   * exists; the bucket's REMOTE_NOT_FOUND when it does not. Other errors pass through.
   */
  async refine(mapped: BriError, cause: unknown, ctx: RemoteErrorContext, signal?: AbortSignal): Promise<BriError> {
    if (this.exists || !isMissingObject(mapped)) return mapped;
    let present: boolean;
    try {
      present = await this.probe(signal);
    } catch {
      return signal?.aborted === true ? cancelled(ctx) : mapped;
    }
    if (present) {
      this.exists = true;
      return mapped;
    }
    const f = failureFacts(cause);
    return toRemoteError(Object.assign(new Error(f.message), { statusCode: 404, ...(f.code !== undefined ? { code: f.code } : {}) }), ctx, false);
  }
}

/** Whether the retry wrapper may try again after this error. */
export function isRetryable(err: unknown): boolean {
  return isBriError(err) && err.details.retryable === true;
}

/** The CANCELLED for a call whose caller aborted it. */
export function cancelled(ctx: RemoteErrorContext, cause?: unknown): BriError {
  return new BriError(ErrorCodes.CANCELLED, `${where(ctx)}: cancelled`, {
    details: { provider: ctx.provider, op: ctx.op, retryable: false },
    ...(cause !== undefined ? { cause: sanitizedCause(cause, ctx.secrets) } : {}),
  });
}

/** Throws CANCELLED when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, ctx: RemoteErrorContext): void {
  if (signal?.aborted) throw cancelled(ctx);
}
