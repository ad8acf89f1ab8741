/**
 * Network fixtures for the fault matrix, made at test time on loopback:
 * - a private CA and a server certificate for 127.0.0.1/localhost (`openssl`, when installed);
 * - a tiny HTTP CONNECT proxy that only tunnels to loopback and records what it was asked for.
 */

/** PEM files of a throwaway CA and a server certificate signed by it. */
export interface TlsFixture {
  readonly dir: string;
  /** The CA certificate (what `DENO_CERT` / `NODE_EXTRA_CA_CERTS` point at). */
  readonly caFile: string;
  readonly cert: string;
  readonly key: string;
  cleanup(): Promise<void>;
}

/** Whether `openssl` can be run (the TLS cases are skipped without it). */
export function hasOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Generates a CA and a server certificate (SAN 127.0.0.1, ::1, localhost, and `dnsNames`) in a temp
 * directory.
 */
export async function makeTlsFixture(dnsNames: readonly string[] = []): Promise<TlsFixture> {
  const dir = await Deno.makeTempDir({ prefix: "credproc-tls-" });
  const days = ["-days", "2"];
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=credproc test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    ...days,
  ], dir);
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    `subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost${dnsNames.map((n) => `,DNS:${n}`).join("")}\n` +
      "basicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-extfile",
    "server.ext",
    ...days,
  ], dir);
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    cert: await Deno.readTextFile(`${dir}/server.pem`),
    key: await Deno.readTextFile(`${dir}/server.key`),
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

/** A running CONNECT proxy on 127.0.0.1. */
export interface ConnectProxy {
  readonly url: string;
  /** Every CONNECT target asked for (`host:port`), refused ones included. */
  readonly connects: string[];
  /** Requests that were not CONNECT (method and target), answered 405. */
  readonly others: string[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const LOOPBACK_TARGET = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d+$/;

/**
 * Starts an HTTP proxy that tunnels `CONNECT host:port` to loopback targets only (anything else gets 403,
 * so nothing can leave the machine through it) and answers every other method with 405. `standInFor`
 * plays the outside world: a target it maps (e.g. `sts.us-east-1.amazonaws.com:443`) is tunnelled to the
 * loopback `host:port` it returns instead, so a real AWS host name can be exercised without leaving loopback.
 */
export function startConnectProxy(
  standInFor: (target: string) => string | undefined = () => undefined,
): ConnectProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connects: string[] = [];
  const others: string[] = [];
  const open = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const encoder = new TextEncoder();

  async function handle(client: Deno.Conn): Promise<void> {
    open.add(client);
    let upstream: Deno.Conn | undefined;
    try {
      // Read the request head.
      let head = new Uint8Array(0);
      while (true) {
        const buf = new Uint8Array(4096);
        const n = await client.read(buf);
        if (n === null) return;
        const next = new Uint8Array(head.length + n);
        next.set(head);
        next.set(buf.subarray(0, n), head.length);
        head = next;
        const text = new TextDecoder().decode(head);
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) {
          if (head.length > 16384) return;
          continue;
        }
        const [method, target] = text.slice(0, text.indexOf("\r\n")).split(" ");
        if (method !== "CONNECT") {
          others.push(`${method} ${target}`);
          await client.write(encoder.encode("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"));
          return;
        }
        connects.push(target);
        const to = standInFor(target) ?? target;
        if (!LOOPBACK_TARGET.test(to)) {
          await client.write(encoder.encode("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
          return;
        }
        const i = to.lastIndexOf(":");
        const hostname = to.slice(0, i).replace(/^\[|\]$/g, "");
        upstream = await Deno.connect({ hostname, port: Number(to.slice(i + 1)) });
        open.add(upstream);
        await client.write(encoder.encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
        const rest = head.subarray(end + 4);
        if (rest.length > 0) await upstream.write(rest);
        break;
      }
      const up = upstream;
      await Promise.all([
        client.readable.pipeTo(up.writable).catch(() => {}),
        up.readable.pipeTo(client.writable).catch(() => {}),
      ]);
    } catch {
      // A client or upstream that goes away ends the tunnel.
    } finally {
      for (const c of [client, upstream]) {
        if (!c) continue;
        open.delete(c);
        try {
          c.close();
        } catch { /* already closed by pipeTo */ }
      }
    }
  }

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const t = handle(conn);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch { /* listener closed */ }
  })();

  const stop = async () => {
    try {
      listener.close();
    } catch { /* already closed */ }
    for (const c of open) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await accepting;
    await Promise.allSettled([...tasks]);
  };
  const port = (listener.addr as Deno.NetAddr).port;
  return { url: `http://127.0.0.1:${port}`, connects, others, stop, [Symbol.asyncDispose]: stop };
}
