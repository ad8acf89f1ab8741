/**
 * Reads the metadata `deno compile` embeds in an executable, and maps a `deno.json` permission set to the
 * form that metadata uses, so a test can compare the shipped sandbox with the tested one.
 *
 * Format (Deno 2.x, `cli/standalone/binary.rs` and `serialization.rs`): the compiled program is one data
 * section, named `d3n0l4nd`, that `libsui` puts in the base binary — an ELF note (`.note.sui`), a Mach-O
 * section (`__SUI,__d3n0l4nd`) or a PE resource. The section itself starts with the magic bytes `d3n0l4nd`,
 * then a little-endian u64 length and that many bytes of JSON: the `Metadata` struct (argv, permissions,
 * v8 flags, entrypoint, …). The npm snapshot, remote modules, the virtual file system and source maps follow,
 * and the section ends with `d3n0l4nd` again. The data is stored uncompressed, so this reader scans the file
 * for the magic bytes instead of parsing each executable format: a hit counts only when a u64 length and a
 * JSON object holding `permissions` and `entrypoint_key` follow it.
 *
 * CLI: `deno run -P=dev scripts/embedded_metadata.ts BINARY [--all]` prints the permissions (or, with
 * `--all`, the whole metadata) as JSON.
 */
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";

export const MAGIC = "d3n0l4nd";

/** `PermissionsOptions` as serialized in the metadata: `null` = not granted, `[]` = every value. */
export type PermissionList = string[] | null;
export interface EmbeddedPermissions {
  [key: string]: PermissionList | boolean | undefined;
  prompt?: boolean;
}

export interface EmbeddedMetadata {
  [key: string]: unknown;
  argv: string[];
  permissions: EmbeddedPermissions;
  entrypoint_key: string;
  app_version?: string | null;
}

/** Finds and parses the embedded metadata; throws unless exactly one candidate is found. */
export function readEmbeddedMetadata(bytes: Uint8Array): EmbeddedMetadata {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = Buffer.from(MAGIC, "latin1");
  const found: { offset: number; metadata: EmbeddedMetadata }[] = [];
  for (let at = buf.indexOf(magic); at !== -1; at = buf.indexOf(magic, at + 1)) {
    const start = at + magic.length + 8;
    if (start >= buf.length || buf[start] !== 0x7b /* { */) continue;
    const len = buf.readBigUInt64LE(at + magic.length);
    if (len < 2n || len > BigInt(buf.length - start)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.toString("utf8", start, start + Number(len)));
    } catch {
      continue;
    }
    if (isMetadata(parsed)) found.push({ offset: at, metadata: parsed });
  }
  if (found.length === 0) {
    throw new Error(`no deno compile metadata found (no "${MAGIC}" section followed by metadata JSON)`);
  }
  if (found.length > 1) {
    throw new Error(`${found.length} metadata candidates found at offsets ${found.map((f) => f.offset)}`);
  }
  return found[0].metadata;
}

function isMetadata(v: unknown): v is EmbeddedMetadata {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.permissions === "object" && o.permissions !== null &&
    typeof o.entrypoint_key === "string" &&
    Array.isArray(o.argv);
}

export async function readEmbeddedMetadataFile(path: string): Promise<EmbeddedMetadata> {
  return readEmbeddedMetadata(await Deno.readFile(path));
}

/** Permission names a `deno.json` permission set may hold, and which of them take an `ignore` list. */
export const PERMISSION_NAMES = ["env", "net", "ffi", "read", "run", "sys", "write", "import"] as const;
const WITH_IGNORE = new Set(["env", "read"]);

type ConfigValue = boolean | string[] | {
  allow?: boolean | string[];
  deny?: boolean | string[];
  ignore?: boolean | string[];
};

function toList(v: boolean | string[] | undefined): PermissionList {
  if (v === undefined || v === false) return null;
  if (v === true) return [];
  if (Array.isArray(v)) return [...v];
  throw new Error(`unexpected permission value ${JSON.stringify(v)}`);
}

/**
 * What `deno compile -P --no-prompt` should embed for a `deno.json` permission set: `true` becomes `[]`
 * (everything), `false` or absent becomes `null`, a list stays a list, and `{ allow, deny, ignore }` fills the
 * three fields. `allow_import` is left out when the set does not name it: Deno then fills in its own default
 * host list, which `remoteImportHostsAllowed` judges.
 */
export function expectedPermissions(set: Record<string, unknown>): EmbeddedPermissions {
  const unknown = Object.keys(set).filter((k) => !(PERMISSION_NAMES as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`unknown permission names in the set: ${unknown.join(", ")}`);
  const out: EmbeddedPermissions = {};
  for (const name of PERMISSION_NAMES) {
    const v = set[name] as ConfigValue | undefined;
    const obj = typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;
    const allow = obj ? toList(obj.allow) : toList(v as boolean | string[] | undefined);
    const deny = obj ? toList(obj.deny) : null;
    const ignore = obj ? toList(obj.ignore) : null;
    if (name !== "import" || (obj ? obj.allow !== undefined : v !== undefined)) out[`allow_${name}`] = allow;
    out[`deny_${name}`] = deny;
    if (WITH_IGNORE.has(name)) out[`ignore_${name}`] = ignore;
  }
  out.prompt = false;
  return out;
}

/**
 * The remote hosts the embedded sandbox lets the program import code from: `["*"]` for any host, `[]` for
 * none. A deny list wins over the allow list, and an empty list means "every host" on either side.
 */
export function remoteImportHostsAllowed(p: EmbeddedPermissions): string[] {
  const allow = p.allow_import as PermissionList | undefined;
  const deny = p.deny_import as PermissionList | undefined;
  if (allow === null || allow === undefined) return [];
  if (Array.isArray(deny) && deny.length === 0) return [];
  if (allow.length === 0) return ["*"];
  const denied = new Set(deny ?? []);
  // An entry may carry a port ("jsr.io:443"); a deny of the bare host covers every port.
  return allow.filter((h) => !denied.has(h) && !denied.has(h.replace(/:\d+$/, "")));
}

/**
 * Differences between the embedded permissions and a `deno.json` permission set (empty when they match),
 * plus any remote import host the embedded sandbox would allow.
 */
export function permissionProblems(meta: EmbeddedMetadata, set: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const got = meta.permissions;
  const want = expectedPermissions(set);
  const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
  keys.delete("allow_import"); // judged below: Deno fills in its default hosts when the set names none
  if (want.allow_import !== undefined) keys.add("allow_import");
  for (const k of [...keys].sort()) {
    if (JSON.stringify(got[k]) !== JSON.stringify(want[k])) {
      problems.push(`${k}: embedded ${JSON.stringify(got[k])}, deno.json says ${JSON.stringify(want[k])}`);
    }
  }
  const hosts = remoteImportHostsAllowed(got);
  if (hosts.length > 0) problems.push(`remote imports allowed from ${hosts.join(", ")}`);
  if (meta.argv.length > 0) problems.push(`arguments baked in: ${JSON.stringify(meta.argv)}`);
  return problems;
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { all: { type: "boolean", default: false } },
  });
  if (positionals.length !== 1) {
    console.error("usage: embedded_metadata.ts BINARY [--all]");
    Deno.exit(2);
  }
  try {
    const m = await readEmbeddedMetadataFile(positionals[0]);
    console.log(JSON.stringify(values.all ? m : m.permissions, null, 2));
  } catch (e) {
    console.error(`embedded_metadata: ${positionals[0]}: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
