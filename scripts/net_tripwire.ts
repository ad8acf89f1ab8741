/**
 * The network tripwire of `deno task test`, for a run inside a private network namespace (only `lo` up) whose
 * `/etc/resolv.conf` names 127.0.0.1: a DNS server on 127.0.0.1:53 that records every name it is asked for and
 * answers REFUSED, and the kernel's own count of packets that found no route (`OutNoRoutes`, IPv4 and IPv6),
 * which is every attempt to reach an address beyond loopback. A test run is clean only when both stay at 0.
 */
import dgram from "node:dgram";

/** What the tripwire saw. */
export interface TripwireReport {
  /** Names looked up (query name and type), in order. */
  readonly lookups: readonly string[];
  /** Packets sent towards an address beyond loopback (connection attempts, datagrams). */
  readonly beyondLoopback: number;
}

/** A running tripwire. */
export interface Tripwire {
  /** Stops listening and tells what was seen since start. */
  stop(): Promise<TripwireReport>;
}

const QTYPES: Record<number, string> = { 1: "A", 5: "CNAME", 28: "AAAA", 33: "SRV", 65: "HTTPS", 16: "TXT" };

/** The question of a DNS message (`name TYPE`), or undefined when it has none that parses. */
export function questionOf(msg: Uint8Array): string | undefined {
  if (msg.length < 12 || ((msg[4] << 8) | msg[5]) === 0) return undefined;
  const labels: string[] = [];
  let off = 12;
  while (off < msg.length && msg[off] !== 0) {
    const len = msg[off];
    if (len > 63 || off + 1 + len > msg.length) return undefined;
    labels.push(new TextDecoder().decode(msg.subarray(off + 1, off + 1 + len)));
    off += 1 + len;
  }
  if (off + 3 > msg.length) return undefined;
  const qtype = (msg[off + 1] << 8) | msg[off + 2];
  return `${labels.join(".") || "."} ${QTYPES[qtype] ?? `TYPE${qtype}`}`;
}

/** The REFUSED answer to a query: its header with QR set, RCODE 5, and its question section. */
export function refused(query: Uint8Array): Uint8Array {
  const answer = query.slice();
  answer[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD
  answer[3] = 0x05; // RCODE REFUSED
  answer.fill(0, 6, 12); // no answer, authority or additional records (EDNS dropped on purpose)
  let end = 12;
  while (end < answer.length && answer[end] !== 0) end += 1 + answer[end];
  return answer.subarray(0, Math.min(answer.length, end + 5));
}

/** The kernel's `OutNoRoutes` counters of this network namespace, IPv4 plus IPv6. */
export async function outNoRoutes(): Promise<number> {
  let total = 0;
  const snmp = (await Deno.readTextFile("/proc/net/snmp")).split("\n").filter((l) => l.startsWith("Ip: "));
  if (snmp.length >= 2) {
    const names = snmp[0].split(/\s+/);
    const values = snmp[1].split(/\s+/);
    total += Number(values[names.indexOf("OutNoRoutes")] ?? 0);
  }
  const snmp6 = await Deno.readTextFile("/proc/net/snmp6").catch(() => "");
  const m = /^Ip6OutNoRoutes\s+(\d+)/m.exec(snmp6);
  if (m) total += Number(m[1]);
  return total;
}

/** Starts the DNS server on 127.0.0.1:53 (UDP and TCP) and takes the kernel counters' starting point. */
export async function startTripwire(): Promise<Tripwire> {
  const lookups: string[] = [];
  const record = (msg: Uint8Array) => lookups.push(questionOf(msg) ?? "(unparsable query)");
  const udp = dgram.createSocket("udp4");
  udp.on("message", (msg: Uint8Array, rinfo: { port: number; address: string }) => {
    record(msg);
    udp.send(refused(msg), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(53, "127.0.0.1", () => resolve());
  });
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 53 });
  const served = (async () => {
    for await (const conn of tcp) {
      (async () => {
        try {
          const buf = new Uint8Array(2 + 512);
          const n = await conn.read(buf);
          if (n !== null && n > 2) {
            const query = buf.subarray(2, n);
            record(query);
            const answer = refused(query);
            await conn.write(new Uint8Array([answer.length >> 8, answer.length & 0xff, ...answer]));
          }
        } catch { /* a client that went away */ }
        try {
          conn.close();
        } catch { /* closed already */ }
      })();
    }
  })().catch(() => {});
  const start = await outNoRoutes();
  return {
    async stop() {
      const beyondLoopback = (await outNoRoutes()) - start;
      udp.close();
      tcp.close();
      await served;
      return { lookups, beyondLoopback };
    },
  };
}
