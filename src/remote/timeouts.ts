/**
 * How long a remote call may go without progress: a connect timeout (the TCP connection) and an
 * idle timeout (no byte sent or received on the connection), per remote (`timeouts` in its
 * configuration). A transfer that keeps moving bytes is never cut, however long it takes; a
 * server that accepts the connection and never answers (a hung proxy, a half-open connection)
 * fails the call instead of holding it, and every archive queued behind it, for ever.
 *
 * S3 takes them from its SDK's own handler options (connectionTimeout, and socketTimeout, which
 * is a socket idle timeout). @google-cloud/storage (teeny-request picks its own agents) and
 * @azure/storage-blob (its pipeline takes a whole HTTP client, not an agent) take no agent we
 * could give them, so `SocketTimeouts.run` puts the limits on the connections a call uses. Node
 * announces each new client connection (`net.client.socket`) and each request once its body is
 * handed over (`http.client.request.start`) on diagnostics channels, synchronously in the
 * caller's async context, where AsyncLocalStorage tells which store's call it is. The idle limit
 * is Node's own socket timeout, restarted by every byte either way and held off while a large
 * write drains. A kept-alive connection keeps it between requests (closing after that long
 * unused), so that a request reusing it is bounded from its first byte, body included. Requests
 * started outside a store's call are left alone.
 *
 * One gap remains, which `watchProgress` closes: a request that streams its body (GCS uploads)
 * on a new TLS connection (tls.connect announces none) is announced only once its body is all
 * handed over, so until then the call itself must show progress.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';

/** Per-remote limits, as in the configuration. */
export interface RemoteTimeouts {
  /** Longest wait for the TCP connection to a server, in ms (default 10 000). */
  connectMs?: number;
  /** Longest time without a byte moving either way on a connection, in ms (default 60 000). */
  idleMs?: number;
}

/**
 * The longest delay a Node timer keeps (about 24.8 days): a longer one fires after 1 ms instead
 * (TimeoutOverflowWarning), so a configured wait above it would turn "practically never" into "at once".
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default connect timeout. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Default idle timeout: generous, since a server may think that long before its answer (S3's CompleteMultipartUpload). */
export const IDLE_TIMEOUT_MS = 60_000;

/** The limits of one call, and which one fired (set once, by whoever saw it). */
export interface TimeoutWatch {
  connectMs: number;
  idleMs: number;
  fired?: 'connect' | 'idle';
}

/** The limits with their defaults filled in. */
export function resolveTimeouts(t: RemoteTimeouts = {}): { connectMs: number; idleMs: number } {
  return { connectMs: t.connectMs ?? CONNECT_TIMEOUT_MS, idleMs: t.idleMs ?? IDLE_TIMEOUT_MS };
}

/** A call in progress (the async context's), or a connection's: the store whose call opened or last used it, and that call's watch. */
interface Binding {
  owner: SocketTimeouts;
  watch: TimeoutWatch;
}

const scopes = new AsyncLocalStorage<Binding>();
const held = new WeakMap<Socket, Binding>();
/** The connections each call's watch holds now, for `watchProgress`. */
const sockets = new WeakMap<TimeoutWatch, Set<Socket>>();
let subscribed = false;

function onSocket(message: unknown): void {
  const scope = scopes.getStore();
  if (scope !== undefined) scope.owner.hold((message as { socket: Socket }).socket, scope.watch);
}

function onRequestStart(message: unknown): void {
  const scope = scopes.getStore();
  const socket = (message as { request: ClientRequest }).request.socket;
  if (scope !== undefined && socket !== null) scope.owner.hold(socket, scope.watch);
}

/** The error a timed-out connection is destroyed with; SDKs pass its message on (remote-errors maps it). */
function timeoutError(phase: 'connect' | 'idle', ms: number): Error {
  const text = phase === 'connect' ? `no connection within ${ms} ms (connect timeout)` : `nothing moved on the connection for ${ms} ms (idle timeout)`;
  return Object.assign(new Error(text), { code: 'ETIMEDOUT' });
}

/** Arms the limits on a connection we have not seen before. */
function watchSocket(socket: Socket, h: Binding): void {
  const expire = (phase: 'connect' | 'idle'): void => {
    h.watch.fired ??= phase;
    socket.destroy(timeoutError(phase, phase === 'connect' ? h.watch.connectMs : h.watch.idleMs));
  };
  // A connection waiting in an agent's pool has no request to take its error.
  socket.on('error', () => undefined);
  socket.on('timeout', () => expire('idle'));
  // Going back to the pool, the agent sets the socket's timeout to its own (none): ours again, once it has.
  socket.on('free', () =>
    setImmediate(() => {
      if (!socket.destroyed) socket.setTimeout(h.watch.idleMs);
    }),
  );
  socket.once('close', () => {
    h.owner.release(socket);
    sockets.get(h.watch)?.delete(socket);
  });
  // `pending`, not `connecting`: net.connect announces a socket before it starts connecting.
  if (!socket.pending) {
    socket.setTimeout(h.watch.idleMs);
    return;
  }
  const connecting = setTimeout(() => expire('connect'), h.watch.connectMs);
  socket.once('connect', () => {
    clearTimeout(connecting);
    socket.setTimeout(h.watch.idleMs);
  });
  socket.once('close', () => clearTimeout(connecting));
}

/** One store's limits, applied to the connections its calls use (see the module comment). */
export class SocketTimeouts {
  private readonly live = new Set<Socket>();
  private closed = false;
  readonly limits: { connectMs: number; idleMs: number };

  constructor(timeouts: RemoteTimeouts = {}) {
    this.limits = resolveTimeouts(timeouts);
    if (!subscribed) {
      diagnostics.subscribe('net.client.socket', onSocket);
      diagnostics.subscribe('http.client.request.start', onRequestStart);
      subscribed = true;
    }
  }

  /** A fresh watch for one call: put it in the call's error context, so that its error says which limit fired. */
  watch(): TimeoutWatch {
    return { ...this.limits };
  }

  /** Runs `fn` so that every connection it uses, now or in its continuations, is bounded and reports to `watch` (the call's). */
  run<T>(watch: TimeoutWatch | undefined, fn: () => T): T {
    return scopes.run({ owner: this, watch: watch ?? this.watch() }, fn);
  }

  /** Puts a call's limits on a connection it opens or uses (called from the diagnostics channels). */
  hold(socket: Socket, watch: TimeoutWatch): void {
    if (this.closed) {
      // A library's own retry may open a connection after close() (GCS retries a request we gave up
      // on): its request is not attached yet, and an 'error' nobody listens for would kill the process.
      socket.on('error', () => undefined);
      socket.destroy(new Error('the store was closed'));
      return;
    }
    let calls = sockets.get(watch);
    if (calls === undefined) sockets.set(watch, (calls = new Set()));
    calls.add(socket);
    this.live.add(socket);
    const known = held.get(socket);
    if (known === undefined) {
      const h = { owner: this, watch };
      held.set(socket, h);
      watchSocket(socket, h);
      return;
    }
    if (known.watch !== watch) sockets.get(known.watch)?.delete(socket);
    if (known.owner !== this) known.owner.release(socket);
    known.owner = this;
    known.watch = watch;
    if (!socket.pending) socket.setTimeout(watch.idleMs);
  }

  /** Forgets a connection (closed, or taken over by another store's call). */
  release(socket: Socket): void {
    this.live.delete(socket);
  }

  /** Ends the connections of this store's calls, in use or kept alive (the store is closing), and any a call still opens. */
  close(): void {
    this.closed = true;
    for (const socket of this.live) socket.destroy(new Error('the store was closed'));
    this.live.clear();
  }
}

/** A call's own progress, for what the connection limits cannot see (the module comment's gap). */
export interface ProgressWatch {
  /** Bytes moved (read from the source, handed to the request body). */
  moved(): void;
  stop(): void;
}

/**
 * Calls `onStall` with an idle-timeout error once `watch.idleMs` pass with neither a `moved()`
 * nor a byte sent or received on a connection the call holds (sent: accepted by the kernel).
 */
export function watchProgress(watch: TimeoutWatch, onStall: (err: Error) => void): ProgressWatch {
  let last = Date.now();
  let bytes = -1;
  const timer = setInterval(
    () => {
      let now = 0;
      for (const s of sockets.get(watch) ?? []) now += s.bytesRead + s.bytesWritten - s.writableLength;
      if (now !== bytes) {
        bytes = now;
        last = Date.now();
      } else if (Date.now() - last >= watch.idleMs) {
        clearInterval(timer);
        watch.fired ??= 'idle';
        onStall(timeoutError('idle', watch.idleMs));
      }
    },
    Math.max(10, Math.min(1000, Math.floor(watch.idleMs / 8))),
  );
  timer.unref();
  return {
    moved: () => {
      last = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}
