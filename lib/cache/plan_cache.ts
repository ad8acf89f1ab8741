/**
 * The plan wiring: what `lib/cli/cli.ts` calls to cache one plan's provider. Resolves the directory, the
 * digest key, the cache key, the margin and the lock wait from the plan and options, wraps the provider with
 * the decorator (decorator.ts), and writes the fast path's memo after a call (memo.ts). The `--mfa-session`
 * step gets its own entry through {@link mfaSessionCache}.
 */
import { DEFAULT_LOCK_WAIT_SECONDS, DEFAULT_REFRESH_MARGIN_SECONDS, type EntryMeta } from "./store.ts";
import { cacheKey, filePolicies, inputsKey, mfaSessionKeyMaterial, secretsDigest, sha256Hex } from "./key.ts";
import { ConfigError, isNameTooLong } from "../errors.ts";
import { acquireLock } from "./lock.ts";
import type { Logger } from "../log.ts";
import type {
  CacheDirPlan,
  CacheMode,
  CredentialProvider,
  Format,
  Plan,
  PolicySource,
  RawEnv,
} from "../model.ts";
import { type FileCacheOptions, withFileCache } from "./decorator.ts";
import { rememberInputs } from "./memo.ts";
import { digestKeyOrNone } from "./digest_key.ts";

/** Everything `lib/cli/cli.ts` hands over to cache one plan's provider. */
export interface PlanCacheOptions {
  readonly plan: Plan;
  /** The assume options that concern the cache. */
  readonly options: {
    readonly cacheMode: CacheMode;
    readonly refreshMarginSeconds?: number;
    readonly mfaTimeoutSeconds: number;
    readonly roleSessionName?: string;
    readonly verbose: boolean;
    readonly format: Format;
  };
  /**
   * This invocation's raw inputs and the files its plan was read from, for the fast path's memo
   * (see {@link InputsMemo}); without them no memo is written.
   */
  readonly inputs?: {
    readonly argv: readonly string[];
    readonly cwd: string;
    /** The values of `INPUT_ENV_NAMES`, as the fast path hashes them. */
    readonly env: RawEnv;
    /** The secret values the fast path digests (`inputSecretValues`), read with the rest of the snapshot. */
    readonly secretValues: readonly (string | undefined)[];
    readonly files: readonly string[];
  };
  readonly loadPolicy: (source: PolicySource) => Promise<string>;
  /**
   * The secret inputs (source secret key and session token, web identity tokens), for the key's keyed
   * digest; read once by the caller and shared with the call itself.
   */
  readonly secretValues?: () => Promise<readonly (string | undefined)[]>;
  readonly log: Logger;
  readonly warn: (message: string) => void;
  /** This process's uid, or null where unknown (Windows); files owned by anyone else are ignored. */
  readonly uid: number | null;
  /** Wall clock in epoch ms. */
  readonly clock: () => number;
  /** See {@link FileCacheOptions.longRunning}. */
  readonly longRunning?: boolean;
}

/** The wiring `lib/cli/cli.ts` uses: resolves directory, key, margin and lock wait, then {@link withFileCache}. */
export async function cachePlanProvider(
  provider: CredentialProvider,
  o: PlanCacheOptions,
): Promise<CredentialProvider> {
  const { options } = o;
  if (options.cacheMode === "off") {
    return withFileCache(provider, { ...baseOptions(o), dir: undefined, key: "" });
  }
  await checkNamedCacheDir(o.plan.cacheDir);
  const base = baseOptions(o);
  const named = o.plan.cacheDir?.path;
  const digestKey = named === undefined ? undefined : await digestKeyOrNone(named, base.uid, o.log);
  if (digestKey === undefined) {
    // No directory at all is said by the wrapper; an unusable one was just said by digestKeyOrNone.
    return named === undefined ? withFileCache(provider, { ...base, dir: undefined, key: "" }) : provider;
  }
  const dir = named!;
  const key = await cacheKey(o.plan, {
    sessionName: options.roleSessionName,
    policies: await filePolicies(o.plan, o.loadPolicy),
    secrets: await secretsDigest(digestKey, await (o.secretValues?.() ?? [])),
  });
  const cached = withFileCache(provider, {
    ...base,
    dir,
    key,
    meta: entryMeta(o.plan, "role", base.marginMs),
  });
  const { inputs } = o;
  if (inputs === undefined || options.cacheMode !== "use" || options.verbose) {
    return cached;
  }
  const startedAt = base.clock() - performance.now();
  return async () => {
    const credentials = await cached();
    await rememberInputs(dir, {
      inputs: await inputsKey(inputs.argv, inputs.env, inputs.cwd, {
        key: digestKey,
        secretValues: inputs.secretValues,
      }),
      key,
      format: options.format,
      marginMs: base.marginMs,
      ...(o.plan.includeAccountId ? { accountId: true as const } : {}),
      files: [
        ...inputs.files,
        ...o.plan.hops.flatMap((h) => h.policy?.kind === "file" ? [h.policy.path] : []),
        ...o.plan.hops.flatMap((h) => h.webIdentity?.kind === "file" ? [h.webIdentity.path] : []),
      ],
    }, { uid: base.uid, startedAt, log: o.log, digestKey });
    return credentials;
  };
}

/**
 * The `--mfa-session` step's own cache entry, for `ChainDeps.wrapMfaSession`: keyed by the source's
 * identity, the MFA device, the session duration and the endpoint (see `mfaSessionKeyMaterial`), not by
 * role, so one MFA code serves every role assumed with that session until it nears its end. Same
 * directory, modes (`--no-cache`, `--refresh`), margin and lock as the role entries. The role entry's lock
 * is held while this one is taken, never the other way round: no lock-order cycle.
 */
export function mfaSessionCache(o: PlanCacheOptions): (session: CredentialProvider) => CredentialProvider {
  return (session) => async () => {
    if (!o.plan.mfaSession || o.options.cacheMode === "off") return await session();
    const named = o.plan.cacheDir?.path;
    const digestKey = named === undefined ? undefined : await digestKeyOrNone(named, o.uid, o.log);
    const secrets = digestKey && await secretsDigest(digestKey, await (o.secretValues?.() ?? []));
    const material = mfaSessionKeyMaterial(o.plan, secrets);
    if (material === undefined) return await session();
    const key = await sha256Hex(material);
    const dir = digestKey === undefined ? undefined : named;
    o.log.debug("cache: MFA session entry");
    const base = baseOptions(o);
    return await withFileCache(session, {
      ...base,
      dir,
      key,
      meta: entryMeta(o.plan, "mfa-session", base.marginMs),
    })();
  };
}

/** The non-secret description of what an entry is for (see `EntryMeta`). */
export function entryMeta(plan: Plan, kind: EntryMeta["kind"], marginMs: number): EntryMeta {
  const last = plan.hops.at(-1);
  const serial = kind === "mfa-session" ? plan.mfaSession?.serialNumber : plan.hops[0]?.serialNumber;
  return {
    kind,
    roles: kind === "role" ? plan.hops.map((h) => h.roleArn) : [],
    ...(kind === "role" && last ? { sessionName: last.roleSessionName } : {}),
    ...(plan.profile === undefined ? {} : { profile: plan.profile }),
    source: plan.source.kind,
    region: plan.endpoint.region,
    ...(plan.endpoint.endpointUrl === undefined ? {} : { endpointUrl: plan.endpoint.endpointUrl }),
    ...(serial === undefined ? {} : { mfaSerial: serial }),
    marginSeconds: Math.round(marginMs / 1000),
  };
}

/**
 * A cache directory named explicitly (`--cache-dir`, else `CREDPROC_CACHE_DIR`) that exists but is not a
 * directory is bad input (exit 2): the wrong path was named. A directory that merely cannot be created or
 * written stays a warning (see {@link withFileCache}).
 */
export async function checkNamedCacheDir(dir: CacheDirPlan | undefined): Promise<void> {
  if (dir?.namedBy === undefined) return;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir.path);
  } catch (e) {
    // A name the system can never create is the wrong path named, like a file in the directory's place.
    if (isNameTooLong(e)) throw new ConfigError(`${dir.namedBy} ${dir.path}`, "the path is too long");
    return;
  }
  if (!info.isDirectory) throw new ConfigError(`${dir.namedBy} ${dir.path}`, "not a directory");
}

function baseOptions(o: PlanCacheOptions): Omit<FileCacheOptions, "dir" | "key"> {
  const { options, log } = o;
  const timeoutMs = (DEFAULT_LOCK_WAIT_SECONDS + options.mfaTimeoutSeconds) * 1000;
  return {
    marginMs: (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000,
    clock: o.clock,
    lock: (path, ready) =>
      acquireLock(path, { timeoutMs, ready, onWait: () => log.debug(`cache: waiting for lock ${path}`) }),
    log,
    warn: o.warn,
    mode: options.cacheMode,
    uid: o.uid,
    longRunning: o.longRunning,
  };
}
