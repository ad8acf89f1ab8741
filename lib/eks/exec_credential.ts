/**
 * The Kubernetes side of `credproc eks-token`: which `ExecCredential` version the client asks for
 * (`KUBERNETES_EXEC_INFO`), and the document printed for it, byte for byte as `aws eks get-token` prints it.
 * Pure, and it imports nothing: the fast path (lib/fast_path.ts) answers an `eks-token` hit with it, and the full
 * program turns a refusal into its error line (lib/cli/eks_token.ts).
 */

/** The variable client-go (kubectl ≥ 1.20) sets for an exec plugin: the ExecCredential it expects. */
export const EXEC_INFO_ENV = "KUBERNETES_EXEC_INFO";

/** The versions credproc answers (client-go removed `v1alpha1` in 1.24). */
export const EXEC_CREDENTIAL_VERSIONS = [
  "client.authentication.k8s.io/v1beta1",
  "client.authentication.k8s.io/v1",
] as const;
/** One of {@link EXEC_CREDENTIAL_VERSIONS}. */
export type ExecCredentialVersion = typeof EXEC_CREDENTIAL_VERSIONS[number];

/** Without `KUBERNETES_EXEC_INFO` (clients older than 1.20): v1beta1, as the AWS CLI. */
export const DEFAULT_EXEC_CREDENTIAL_VERSION: ExecCredentialVersion = "client.authentication.k8s.io/v1beta1";

/**
 * The longest `KUBERNETES_EXEC_INFO` read (it carries the cluster's CA data when the kubeconfig sets
 * `provideClusterInfo`; Linux caps one variable at 128 KiB anyway).
 */
export const MAX_EXEC_INFO_CHARS = 256 * 1024;

/** The kubeconfig fix for a version refused (the error line's hint, lib/cli/eks_token.ts). */
export const EXEC_INFO_HINT =
  "set the exec apiVersion in the kubeconfig's user entry to client.authentication.k8s.io/v1beta1 " +
  "or client.authentication.k8s.io/v1";

/** Why `KUBERNETES_EXEC_INFO` was refused (a few words for the error line; the value itself never shown). */
export interface ExecInfoRefusal {
  readonly refused: string;
}

/**
 * The version `KUBERNETES_EXEC_INFO` asks for: unset or empty means v1beta1. Anything else must be a JSON object
 * (at most {@link MAX_EXEC_INFO_CHARS}) whose `apiVersion` is v1beta1 or v1, and whose `kind`, when present, is
 * `ExecCredential`; otherwise why not. The AWS CLI falls back to v1beta1 with a warning instead; kubectl would
 * then refuse the answer with a less clear error, so credproc refuses it first (exit 2), naming the version.
 * The same rule on the fast path and the full path: a refusal on the fast path sends the call to the full path,
 * which prints the error.
 */
export function execInfoVersion(raw: string | undefined): ExecCredentialVersion | ExecInfoRefusal {
  if (raw === undefined || raw === "") return DEFAULT_EXEC_CREDENTIAL_VERSION;
  const refuse = (refused: string): ExecInfoRefusal => ({ refused });
  if (raw.length > MAX_EXEC_INFO_CHARS) return refuse(`longer than ${MAX_EXEC_INFO_CHARS} characters`);
  let info: unknown;
  try {
    info = JSON.parse(raw);
  } catch {
    return refuse("not JSON");
  }
  if (typeof info !== "object" || info === null || Array.isArray(info)) return refuse("not a JSON object");
  const { kind, apiVersion } = info as Record<string, unknown>;
  if (kind !== undefined && kind !== "ExecCredential") return refuse("its kind is not ExecCredential");
  if (typeof apiVersion !== "string") return refuse("it names no apiVersion");
  if (!(EXEC_CREDENTIAL_VERSIONS as readonly string[]).includes(apiVersion)) {
    const shown = /^[\x21-\x7e]{1,80}$/.test(apiVersion) ? apiVersion : "(not shown)";
    return refuse(`apiVersion ${shown} is not supported (v1beta1 or v1)`);
  }
  return apiVersion as ExecCredentialVersion;
}

/**
 * The `ExecCredential` document with its newline, laid out as the AWS CLI prints it (Python's `json.dumps`:
 * `", "` and `": "`, one line): kind, apiVersion, spec, status with expirationTimestamp (`…T10:14:00Z`) and token.
 */
export function execCredentialJson(version: ExecCredentialVersion, token: string, expiration: Date): string {
  const s = JSON.stringify;
  const timestamp = expiration.toISOString().replace(/\.\d{3}Z$/, "Z");
  return `{"kind": "ExecCredential", "apiVersion": ${s(version)}, "spec": {}, "status": ` +
    `{"expirationTimestamp": ${s(timestamp)}, "token": ${s(token)}}}\n`;
}
