/**
 * The role a command names, as one cached provider: plan (environment read once, shared files loaded), the
 * call's cache session (lib/cache/session.ts), the chain with its collaborators, the role's cache entry
 * around it. `assume`, `eks-token`, `console` and `serve` all start here, so they share one cache entry per
 * role.
 */
import { type CacheSession, type Locked, openCacheSession } from "../cache/session.ts";
import type { MemoKind } from "../cache/memo.ts";
import { LoginTokenError, loginTokenFile, readLoginToken } from "../plan/login_token.ts";
import { readSsoToken, type SsoToken } from "../plan/sso_token.ts";
import { chainProvider } from "../providers/chain.ts";
import { sharedConfigPaths, ssoTokenFile } from "../plan/shared_config.ts";
import { ConfigError, CredentialsError } from "../errors.ts";
import { loadPolicy, loadToken } from "../plan/referenced_files.ts";
import { planSecrets, sourceSecrets } from "../plan/secrets.ts";
import type { Logger } from "../log.ts";
import { createMfaCodeSource } from "../providers/mfa.ts";
import {
  type CredentialProvider,
  type Env,
  ENV_NAMES,
  type LoginToken,
  type OutputOptions,
  type Plan,
  type PolicySource,
  type RawEnv,
  type RoleOptions,
  SECRET_ENV_NAMES,
  type TokenSource,
} from "../model.ts";
import { createDeadline, type Deadline } from "../providers/deadline.ts";
import { resolvePlan } from "../plan/planner.ts";
import type { SdkLogger } from "../providers/sources.ts";
import type { CliDeps, CliIo, Invocation } from "./deps.ts";
import { CONTROL_CHARACTER_REASON, hasControlCharacter } from "../validate.ts";

/** The same call as a shell line, to run once in a terminal so the cache holds what an SDK will ask for. */
function warmCommand(argv: readonly string[]): string {
  const quote = (a: string) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
  return ["credproc", ...argv].map(quote).join(" ");
}

/** Reads the variables credproc uses, once. A value that is not valid UTF-8 is bad input (exit 2). */
export function snapshotEnv(io: CliIo, extra: readonly string[]): Env & RawEnv {
  const env: Record<string, string | undefined> = {};
  for (const name of [...ENV_NAMES, ...extra]) {
    try {
      env[name] = io.getEnv(name);
    } catch {
      throw new ConfigError(name, "its value is not valid UTF-8");
    }
  }
  return env;
}

/** A one-argument loader that runs once per argument: a file is read once and the same text used everywhere. */
function once<A, R>(load: (a: A) => Promise<R>, id: (a: A) => string): (a: A) => Promise<R> {
  const seen = new Map<string, Promise<R>>();
  return (a) => {
    const k = id(a);
    let p = seen.get(k);
    if (p === undefined) seen.set(k, p = load(a));
    return p;
  };
}

/** The proxy in force, for `--verbose` (without user info). */
function proxyLine(io: CliIo): string {
  let proxy: string | undefined;
  try {
    proxy = io.getEnv("HTTPS_PROXY") || io.getEnv("https_proxy") || undefined;
  } catch {
    proxy = undefined;
  }
  if (proxy === undefined) return "proxy: none (HTTPS_PROXY unset)";
  let shown = "(not a URL)";
  try {
    const u = new URL(proxy);
    shown = `${u.protocol}//${u.host}`;
  } catch { /* shown as not a URL */ }
  return `proxy: https endpoints through ${shown} (CONNECT); plain http, loopback and metadata always direct`;
}

/**
 * The role the options name, as one cached provider: plan, then the chain with the cache and lock around it.
 * `assume` renders what it returns; `eks-token` signs with it; `console` and `serve` call it for the same
 * credentials (the same cache entry, so no extra STS call while it is fresh). `options` are any role command's:
 * the format and account id only where the command takes them (see `resolvePlan`).
 */
export async function roleProvider(
  options: RoleOptions & Partial<OutputOptions>,
  inv: Invocation,
  /**
   * `memo`: what these inputs print, for the fast path's memo — `assume` (the credential document, written
   * after each call of the provider) or `eks-token` (an ExecCredential: the caller writes it with
   * `cache.remember()` after its token entry). Nothing else may leave one, or a repeated
   * `credproc console …` would be answered with credentials instead of a URL (whether one is written is the
   * cache session's decision: see `MemoDecision`).
   * `longRunning`: for `serve`, which calls again while it runs: a failure another call recorded earlier is not
   * this call's.
   * `sourceOnly`: a plan without a role is the source's own credentials (`eks-token`, see `resolvePlan`).
   */
  { memo, longRunning = false, sourceOnly = false }: {
    readonly memo?: MemoKind;
    readonly longRunning?: boolean;
    readonly sourceOnly?: boolean;
  } = {},
): Promise<{
  readonly plan: Plan;
  readonly provider: CredentialProvider;
  readonly deadline: Deadline;
  readonly cache: CacheSession;
}> {
  const { argv, io, deps, log } = inv;
  const env = snapshotEnv(io, options.webIdentity?.kind === "env" ? [options.webIdentity.name] : []);
  log.secret(options.tokenCode);
  const configPaths = sharedConfigPaths(env, deps.homeDir());
  const config = await deps.loadSharedConfig(configPaths);
  const plan = resolvePlan(options, env, config, new Date(deps.clock()), deps.os, { sourceOnly });
  checkCredentialEnv(plan, env, log);
  if (plan.profiles) log.debug(`profiles: ${plan.profiles.join(" → ")}`);
  log.debug(
    plan.endpoint.endpointUrl === undefined
      ? `endpoint: STS in ${plan.endpoint.region} (the SDK's endpoint rules)`
      : `endpoint: ${plan.endpoint.endpointUrl} (from ${plan.endpoint.endpointFrom})`,
  );
  log.debug(proxyLine(io));
  const timeoutMs = options.timeoutSeconds * 1000;
  const deadline = createDeadline(timeoutMs);
  // Each file is read once (stat first, bounded) and the same text serves the cache key and the call.
  const loadPolicyOnce = once(
    (p: PolicySource) => loadPolicy(p, deps.readFile),
    (p) => p.kind === "file" ? `file:${p.path}` : `inline:${p.json}`,
  );
  const loadTokenOnce = once(
    (t: TokenSource) => loadToken(t, deps.readFile, env),
    (t) => `${t.kind}:${t.kind === "file" ? t.path : t.name}`,
  );
  // The SSO sign-in decides whose credentials come back: its token file is judged (lib/plan/sso_token.ts)
  // before the SDK reads it, its access token is keyed like a secret, and the file is watched by the fast path
  // like the shared config.
  const sso = plan.source.kind === "sso" ? plan.source : undefined;
  const ssoToken = sso === undefined ? undefined : await ssoTokenFile(sso);
  let ssoRead: Promise<SsoToken> | undefined;
  // Once per call: the token keyed is the token judged before the SDK reads it.
  const readSso = sso === undefined || ssoToken === undefined
    ? undefined
    : () =>
      ssoRead ??= readSsoToken(ssoToken, sso.profile, { uid: deps.uid(), read: deps.readFile }).then((t) => {
        log.secret(t.accessToken);
        return t;
      });
  // An aws login session likewise: which sign-in the token holds (its DPoP key) is keyed like a secret, the
  // token file is watched by the fast path, and every refresh of it is serialized by the session's login lock.
  const loginPath = plan.source.kind === "login" ? await loginTokenPath(plan) : undefined;
  let login: LoginSession | undefined;
  const secretValues = async () => {
    const values = await planSecrets(plan, {
      webIdentityToken: loadTokenOnce,
      ssoToken: readSso,
      loginToken: login?.readForKey,
    });
    values.forEach((v) => log.secret(v));
    return values;
  };
  // The call's cache, decided once: directory, digest key, mode, margin, whether the fast path's memo is left.
  const cache = await openCacheSession({
    plan,
    options,
    logsToFile: log.toFile,
    memoKind: memo,
    memoInputs: memo === undefined ? undefined : {
      argv,
      where: { cwd: io.cwd, os: deps.os },
      env,
      files: [
        configPaths.configPath,
        configPaths.credentialsPath,
        ...(ssoToken === undefined ? [] : [ssoToken]),
        ...(loginPath === undefined ? [] : [loginPath]),
      ],
    },
    loadPolicy: loadPolicyOnce,
    secretValues,
    log,
    // Cache trouble never fails a call and never reaches stderr on success: `--verbose` says it.
    warn: (message: string) => log.debug(`cache: warning: ${message}`),
    uid: deps.uid(),
    clock: deps.clock,
    longRunning,
  });
  if (loginPath !== undefined) {
    login = loginSession(plan, loginPath, deps, log, cache.lock("login-token", loginPath));
  }
  const source = deps.source(plan.source, deadline, sdkLogger(log), login?.read);
  const mfaCode = createMfaCodeSource({
    tokenCode: options.tokenCode,
    envCode: env.CREDPROC_MFA_TOKEN_CODE,
    timeoutMs: options.mfaTimeoutSeconds * 1000,
    prompt: deps.prompt(),
    log,
    // Warming the cache from a terminal helps only when this call uses one.
    warmCommand: cache.use.mode === "off" ? undefined : warmCommand(argv.argv),
    mfaSession: options.mfaSession,
  });
  const chain = chainProvider(plan, {
    sts: deps.sts({ ...plan.endpoint, timeoutMs, deadline, ...plan.retry }, log),
    source: login !== undefined
      ? login.locked(source)
      // The SDK reads the SSO token file only after credproc judged it.
      : readSso !== undefined
      ? async () => (await readSso(), await source())
      : source,
    // A person typing a code is not a network step: that time does not count against --timeout.
    mfaCode: (serial) => deadline.exclude(mfaCode(serial)),
    loadPolicy: loadPolicyOnce,
    loadToken: loadTokenOnce,
    log,
    wrapMfaSession: (session) => cache.entry("mfa-session", session),
  });
  const role = cache.entry("role", chain);
  // An `eks-token` memo names the token entry: the caller writes it after that entry's call.
  const provider = memo !== "assume" ? role : async () => {
    const credentials = await role();
    await cache.remember();
    return credentials;
  };
  return { plan, provider, deadline, cache };
}

/** The variables the SDK's environment provider sends from: refused with a control character, by name. */
const CREDENTIAL_ENV = ["AWS_ACCESS_KEY_ID", ...SECRET_ENV_NAMES] as const;

/**
 * Registers the secrets the environment and the plan hold before anything can fail with them, and refuses
 * a control character in the credential variables the plan's source reads (the environment provider, first
 * in the default chain): sent as a header it would fail with an error that quotes it. Exit 2, naming the
 * variable, never the value. Variables the source does not read are left alone, as the AWS CLI does.
 */
function checkCredentialEnv(plan: Plan, env: Env & RawEnv, log: Logger): void {
  for (const name of SECRET_ENV_NAMES) log.secret(env[name]);
  for (const hop of plan.hops) {
    if (hop.webIdentity?.kind === "env") log.secret(env[hop.webIdentity.name]);
  }
  sourceSecrets(plan).forEach((s) => log.secret(s));
  if (plan.source.kind !== "environment" && plan.source.kind !== "default-chain") return;
  for (const name of CREDENTIAL_ENV) {
    const value = env[name];
    if (value !== undefined && hasControlCharacter(value)) {
      throw new ConfigError(name, CONTROL_CHARACTER_REASON, {
        hint: `set ${name} again, on one line and without control characters`,
      });
    }
  }
}

/** The `aws login` token file the SDK reads for the plan's login source. */
async function loginTokenPath(plan: Plan): Promise<string> {
  const source = plan.source as Extract<Plan["source"], { kind: "login" }>;
  const path = await loginTokenFile(source);
  if (path === undefined) {
    throw new CredentialsError(
      `aws login session of profile ${source.profile}`,
      "no home directory to find its token in (set HOME or AWS_LOGIN_CACHE_DIRECTORY)",
    );
  }
  return path;
}

/** An `aws login` source's token file, read and judged, and its refreshes under the login lock. */
interface LoginSession {
  /** Reads and judges the token file (lib/plan/login_token.ts). */
  readonly read: () => Promise<LoginToken>;
  /** The source provider, run under the login lock. */
  readonly locked: (provider: CredentialProvider) => CredentialProvider;
  /**
   * The token for the cache key, read without the lock; a credproc refreshing it meanwhile rewrites the file
   * in place (the SDK's write), so a file that reads as malformed is read once more under the lock.
   */
  readonly readForKey: () => Promise<LoginToken>;
}

/**
 * An `aws login` source's token file and its lock. The SDK refreshes the token and rewrites the file in place,
 * with no lock of its own; the login lock (`lock`, the cache session's `login-token` lock on the file's path,
 * under the session's directory verdict and lock wait) serializes every credproc that may refresh it — for the
 * session printed as it is, or for any role over it — so N callers make one refresh and the rotated token is
 * written once. It is always taken inside a role entry's lock, never the other way round. Without a usable
 * cache directory the calls go unlocked (said under `--verbose`).
 */
function loginSession(plan: Plan, path: string, deps: CliDeps, log: Logger, lock: Locked): LoginSession {
  const source = plan.source as Extract<Plan["source"], { kind: "login" }>;
  const read = async (): Promise<LoginToken> => {
    const token = await readLoginToken(path, source.profile, { uid: deps.uid(), read: deps.readFile });
    log.secret(token.dpopKey);
    log.secret(token.refreshToken);
    return token;
  };
  log.debug(`source: aws login session ${source.session} (token ${path})`);
  return {
    read,
    locked: (provider) => () => lock(provider),
    readForKey: async () => {
      try {
        return await read();
      } catch (e) {
        if (!(e instanceof LoginTokenError) || e.kind !== "malformed") throw e;
        return await lock(read);
      }
    },
  };
}

/** A `--verbose` line for what the SDK logs at `level` (errors by their message, never to stderr). */
export function sdkLine(log: Logger, level: string): (...content: unknown[]) => void {
  return (...content) =>
    log.debug(`sdk ${level}: ${content.map((c) => c instanceof Error ? c.message : String(c)).join(" ")}`);
}

/** A logger for the SDK's providers: every line goes to `--verbose`, none to stderr. */
function sdkLogger(log: Logger): SdkLogger {
  return { debug: () => {}, info: () => {}, warn: sdkLine(log, "warning"), error: sdkLine(log, "error") };
}
