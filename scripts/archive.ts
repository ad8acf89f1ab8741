/**
 * Release archives written without external tools, so they come out the same on Linux, macOS and Windows
 * runners: `.tar.gz` (ustar + gzip) and `.zip` (deflate). Entries sit at the archive root with fixed
 * timestamps and owners, so the bytes depend only on the files' contents and modes.
 */

export interface Entry {
  /** Name inside the archive (no directories: everything sits at the root). */
  name: string;
  data: Uint8Array;
  /** Unix mode bits, e.g. 0o755 for the executable, 0o644 for documents. */
  mode: number;
}

/** 2000-01-01T00:00:00Z: a fixed mtime (zip's DOS dates cannot go before 1980). */
const FIXED_MTIME = 946684800;

async function transform(data: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream(format),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function checkName(name: string): Uint8Array {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name === "." || name === "..") {
    throw new Error(`archive entry name ${JSON.stringify(name)} must be a plain file name`);
  }
  return new TextEncoder().encode(name);
}

function tarHeader(e: Entry): Uint8Array {
  const h = new Uint8Array(512);
  const put = (off: number, len: number, text: string) => {
    const b = new TextEncoder().encode(text);
    if (b.length > len) throw new Error(`tar field too long: ${text}`);
    h.set(b, off);
  };
  const octal = (off: number, len: number, n: number) =>
    put(off, len, n.toString(8).padStart(len - 1, "0") + "\0");
  h.set(checkName(e.name), 0);
  octal(100, 8, e.mode & 0o7777);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, e.data.length);
  octal(136, 12, FIXED_MTIME);
  put(148, 8, "        "); // checksum placeholder: eight spaces
  put(156, 1, "0"); // regular file
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  const sum = h.reduce((a, b) => a + b, 0);
  put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A gzip-compressed ustar archive holding `entries` at its root. */
export async function tarGz(entries: Entry[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e), e.data, new Uint8Array((512 - (e.data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024)); // end of archive: two zero blocks
  return await transform(concat(parts), "gzip");
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip archive (deflate) holding `entries` at its root; Unix modes go in the external attributes. */
export async function zip(entries: Entry[]): Promise<Uint8Array> {
  const d = new Date(FIXED_MTIME * 1000);
  const dosTime = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const dosDate = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = checkName(e.name);
    const packed = await transform(e.data, "deflate-raw");
    const crc = crc32(e.data);
    if (packed.length >= 0xffffffff || e.data.length >= 0xffffffff) {
      throw new Error(`${e.name}: too big for zip32`);
    }
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true); // version needed: 2.0 (deflate)
    lv.setUint16(6, 0, true); // flags
    lv.setUint16(8, 8, true); // deflate
    lv.setUint16(10, dosTime, true);
    lv.setUint16(12, dosDate, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, packed.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, 0, true);
    local.set(name, 30);

    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, (3 << 8) | 20, true); // made by: Unix, 2.0
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0, true);
    cv.setUint16(10, 8, true);
    cv.setUint16(12, dosTime, true);
    cv.setUint16(14, dosDate, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, packed.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    // extra, comment, disk number, internal attributes: 0
    cv.setUint32(38, ((0o100000 | (e.mode & 0o7777)) << 16) >>> 0, true); // regular file + mode
    cv.setUint32(42, offset, true);
    central.set(name, 46);

    locals.push(local, packed);
    centrals.push(central);
    offset += local.length + packed.length;
  }
  const cd = concat(centrals);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cd.length, true);
  ev.setUint32(16, offset, true);
  return concat([...locals, cd, end]);
}

/** Lowercase hex SHA-256 of `data`. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The text `sha256sum` prints for these files: `<hex>  <name>` per line, sorted by name. */
export async function sha256sums(files: { name: string; data: Uint8Array }[]): Promise<string> {
  const lines = await Promise.all(
    [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(async (f) =>
      `${await sha256Hex(f.data)}  ${f.name}\n`
    ),
  );
  return lines.join("");
}
