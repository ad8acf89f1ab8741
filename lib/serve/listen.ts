/**
 * The sockets of `credproc serve`: its own accept loop on `Deno.listen({ hostname: "127.0.0.1" })` instead
 * of `Deno.serve`, which has no connection limit, no header or idle timeout, gives JS no view of a
 * connection that never sends a request, and obeys `DENO_SERVE_ADDRESS` from the environment.
 *
 * - Every connection has a deadline, checked every {@link SWEEP_MS}: a full request head within
 *   `headerTimeoutMs` of connecting (or of its first byte after a response), the next request within
 *   `idleTimeoutMs` of a response (keep-alive), a response written within `writeTimeoutMs`. Slow and idle
 *   sockets are closed, whatever they send.
 * - At most `maxConnections` are open. One more closes the oldest that has not sent a request yet, else the
 *   oldest idle one; when every one is busy, the new one is closed.
 * - Running out of file descriptors (`EMFILE`, `ENFILE` on accept) never ends the process: the cap is
 *   lowered to `fdReserve` below the connections open at that moment (so a refresh still has descriptors
 *   for the cache file, the lock and the STS socket), connections above it are closed as above, and accept
 *   is retried after a short back-off.
 * - Keep-alive with Content-Length answers; `Connection: close` and HTTP/1.0 end the connection after the
 *   answer; pipelined requests are answered one after another, in order.
 */
import { CredprocError } from "../errors.ts";
import { oneLine } from "../output.ts";
import type { Endpoint } from "./handler.ts";
import { type Answer, MAX_HEAD_BYTES, parseHead, responseBytes, wantsClose } from "./http.ts";

/** How often deadlines are checked (and the `date` header renewed). */
export const SWEEP_MS = 250;

/** The connection limits; {@link DEFAULT_LIMITS} unless a test says otherwise. */
export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly writeTimeoutMs: number;
  /** Descriptors kept free below the ceiling seen at an `EMFILE`. */
  readonly fdReserve: number;
  /** The cap never goes below this. */
  readonly minConnections: number;
}

/** The SDKs connect, send at once and keep a connection a few seconds at most between calls. */
export const DEFAULT_LIMITS: ConnectionLimits = {
  maxConnections: 512,
  headerTimeoutMs: 5000,
  idleTimeoutMs: 5000,
  writeTimeoutMs: 10_000,
  fdReserve: 32,
  minConnections: 8,
};

/** A listening endpoint. */
export interface Listening {
  readonly port: number;
  /** Stops accepting, lets the requests in progress finish (at most `graceMs`), then resolves. */
  stop(graceMs: number): Promise<void>;
  /** Open connections and the cap in force (the cap drops after an `EMFILE`). */
  stats(): { readonly open: number; readonly cap: number };
  /** Resolves when the accept loop has ended: after `stop`, or if the listener was closed under it. */
  readonly finished: Promise<void>;
}

const WAITING = 0; // no byte of the next request yet (a new connection, or idle keep-alive)
const READING = 1; // part of a request head
const BUSY = 2; // the request is answered or the answer written

/** One accepted connection and its deadline. */
interface Connection {
  readonly conn: Deno.Conn;
  state: number;
  /** `performance.now()` after which the sweeper closes it. */
  deadline: number;
  requests: number;
  closed: boolean;
}

/** Deno's code for an accept error (`EMFILE`, …), when it gives one. */
function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Listens on 127.0.0.1:`port` (0: a free one) and answers with `endpoint`. Failure to listen is a one-line
 * error. `note` hears the rare events worth a `-v` line (descriptors ran out, the cap changed).
 */
export function listen(
  port: number,
  endpoint: Endpoint,
  opts: { readonly limits?: Partial<ConnectionLimits>; readonly note?: (line: string) => void } = {},
): Listening {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const note = opts.note ?? (() => {});
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port, transport: "tcp" });
  } catch (e) {
    const why = e instanceof Deno.errors.AddrInUse
      ? "the port is in use"
      : e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable
      ? "permission denied"
      : oneLine(e);
    throw new CredprocError(`serve: cannot listen on 127.0.0.1:${port}`, why, 1, {
      cause: e,
      hint: "pick another --port, or leave it out for a free one",
    });
  }
  const conns = new Set<Connection>();
  let cap = limits.maxConnections;
  let stopping = false;
  let now = performance.now();
  let date = new Date().toUTCString();
  const sweeper = setInterval(() => {
    now = performance.now();
    date = new Date().toUTCString();
    for (const c of conns) if (now > c.deadline) close(c);
  }, SWEEP_MS);

  function close(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    conns.delete(c);
    try {
      c.conn.close();
    } catch { /* already closed */ }
  }

  /** Closes up to `n` connections: the oldest that never sent a request first, then the oldest idle ones. */
  function shed(n: number): number {
    let closed = 0;
    for (const pass of [true, false]) {
      for (const c of conns) {
        if (closed >= n) return closed;
        if (c.state === BUSY || (pass && c.requests > 0)) continue;
        close(c);
        closed++;
      }
    }
    return closed;
  }

  // The last answer's bytes: while the credentials are held, every 200 is the same answer object, so the
  // wire bytes are built once per answer and `date` (a second), not once per request.
  let cached: { answer: Answer; date: string; end: boolean; bytes: Uint8Array } | undefined;
  async function send(c: Connection, answer: Answer, end: boolean): Promise<void> {
    c.state = BUSY;
    c.deadline = now + limits.writeTimeoutMs;
    let bytes: Uint8Array;
    if (cached !== undefined && cached.answer === answer && cached.date === date && cached.end === end) {
      bytes = cached.bytes;
    } else {
      bytes = responseBytes(answer, date, end);
      cached = { answer, date, end, bytes };
    }
    let off = 0;
    while (off < bytes.length) off += await c.conn.write(bytes.subarray(off));
  }

  async function serveConnection(c: Connection): Promise<void> {
    let buf = new Uint8Array(1024);
    let have = 0;
    let scanned = 0;
    try {
      for (;;) {
        // Every complete request already read is answered, in order (pipelining), before reading more.
        while (have > 0) {
          const parsed = parseHead(buf, have, scanned);
          if (parsed.kind === "incomplete") break;
          if (parsed.kind === "malformed") {
            await send(c, endpoint.malformed(parsed.malformed), true);
            return;
          }
          c.state = BUSY;
          c.deadline = Infinity; // the answer's own timeout (504) bounds the wait for credentials
          c.requests++;
          const pending = endpoint.handle(parsed.head);
          const answer = pending instanceof Promise ? await pending : pending;
          if (c.closed) return;
          // A HEAD answer carries the body a GET would: the connection ends so it cannot be misread.
          const end = answer.close === true || stopping || parsed.head.method === "HEAD" ||
            wantsClose(parsed.head);
          buf.copyWithin(0, parsed.length, have);
          have -= parsed.length;
          scanned = 0;
          await send(c, answer, end);
          if (end) return;
          c.state = have > 0 ? READING : WAITING;
          c.deadline = now + (have > 0 ? limits.headerTimeoutMs : limits.idleTimeoutMs);
        }
        scanned = have;
        if (have === buf.length) {
          const bigger = new Uint8Array(Math.min(buf.length * 2, MAX_HEAD_BYTES));
          bigger.set(buf);
          buf = bigger;
        }
        const n = await c.conn.read(buf.subarray(have));
        if (n === null || c.closed) return;
        if (c.state === WAITING) {
          // The first byte of a request: from now on the whole head must arrive within the header timeout.
          c.state = READING;
          if (c.requests > 0) c.deadline = now + limits.headerTimeoutMs;
        }
        have += n;
      }
    } catch {
      // A reset, a write to a closed socket, or the sweeper closed it: the connection is over either way.
    } finally {
      close(c);
    }
  }

  let backoffMs = 0;
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
        backoffMs = 0;
      } catch (e) {
        if (stopping) return;
        const code = errorCode(e);
        if (code === "EMFILE" || code === "ENFILE") {
          // Out of descriptors: the ceiling is near the connections open now. Keep a reserve below it.
          const lowered = Math.max(limits.minConnections, conns.size - limits.fdReserve);
          if (lowered < cap) {
            cap = lowered;
            note(
              `serve: out of file descriptors (${code}) with ${conns.size} connections; at most ${cap} from now on`,
            );
          }
          shed(conns.size - cap);
        } else if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) {
          return; // the listener was closed
        }
        // Anything else (a connection reset before it was accepted, …): try again after a short pause.
        backoffMs = Math.min(Math.max(backoffMs * 2, 10), 500);
        await new Promise((r) => setTimeout(r, backoffMs));
        continue;
      }
      if (stopping) {
        conn.close();
        return;
      }
      if (conns.size >= cap && shed(conns.size - cap + 1) === 0) {
        conn.close(); // every connection is busy with a request: no room
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch { /* closed already */ }
      const c: Connection = {
        conn,
        state: WAITING,
        deadline: now + limits.headerTimeoutMs,
        requests: 0,
        closed: false,
      };
      conns.add(c);
      serveConnection(c);
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    stats: () => ({ open: conns.size, cap }),
    finished: accepting,
    async stop(graceMs) {
      stopping = true;
      try {
        listener.close();
      } catch { /* closed */ }
      await accepting;
      for (const c of conns) if (c.state !== BUSY) close(c);
      const until = performance.now() + graceMs;
      while (conns.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      for (const c of conns) close(c);
      clearInterval(sweeper);
      endpoint.flush();
    },
  };
}

/**
 * Resolves on the first SIGINT or SIGTERM (SIGINT and SIGBREAK on Windows, which has no SIGTERM); the
 * listeners are removed by `dispose`.
 */
export function untilSignal(): { readonly signalled: Promise<Deno.Signal>; dispose(): void } {
  const names: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  let resolve!: (s: Deno.Signal) => void;
  const signalled = new Promise<Deno.Signal>((r) => resolve = r);
  const listeners = names.map((name) => [name, () => resolve(name)] as const);
  for (const [name, fn] of listeners) Deno.addSignalListener(name, fn);
  return {
    signalled,
    dispose: () => listeners.forEach(([name, fn]) => Deno.removeSignalListener(name, fn)),
  };
}
