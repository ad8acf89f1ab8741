/**
 * A plan's source → a credential provider. The SDK's own providers do the work (env, SSO token cache, the
 * `aws login` token cache, instance metadata, container endpoints, the default chain); they load lazily so a
 * cache hit never pays.
 */
import { importNpm } from "../npm.ts";
import { CredentialsError, CredprocError, SandboxError } from "../errors.ts";
import {
  type CredentialProvider,
  type Credentials,
  type LoginToken,
  type SourcePlan,
  unhandled,
} from "../model.ts";
import type { Deadline } from "./deadline.ts";
import { errorText } from "../net_errors.ts";
import { loginProvider } from "./login.ts";

/** A logger for the SDK's own providers: they must never write to stderr; their lines go to `--verbose`. */
export interface SdkLogger {
  debug(...content: unknown[]): void;
  info(...content: unknown[]): void;
  warn(...content: unknown[]): void;
  error(...content: unknown[]): void;
}

/**
 * Builds the provider for a source. Every network step of it (SSO portal, container endpoint, instance
 * metadata, the default chain's lookups) is bounded by `deadline`: whatever the SDK's own timeouts do, the
 * step fails with one line when the budget runs out.
 */
export function sourceProvider(
  source: SourcePlan,
  deadline: Deadline,
  logger?: SdkLogger,
  /** For a `login` source: reads and judges the token file (lib/plan/login_token.ts, given by the caller). */
  readLoginToken?: () => Promise<LoginToken>,
): CredentialProvider {
  const what = source.kind === "default-chain"
    ? `source credentials${source.profile ? ` (profile ${source.profile})` : ""}`
    : `source credentials (${source.kind}${
      "profile" in source && source.profile ? ` from profile ${source.profile}` : ""
    })`;
  const wrap = (load: () => Promise<CredentialProvider>): CredentialProvider => async () => {
    try {
      const provider = await load();
      return normalize(await deadline.race(what, provider(), SOURCE_TIMEOUT_HINT[source.kind]));
    } catch (e) {
      throw mapSourceError(e, what, source);
    }
  };
  // The SDK's per-request timeouts, from what is left (the race above is the real bound).
  const perRequest = () => Math.max(1, Math.ceil(deadline.remaining() / 2));
  const metadata = () => ({ timeout: perRequest(), maxRetries: 1, logger });
  switch (source.kind) {
    case "static":
      return () =>
        Promise.resolve({
          accessKeyId: source.accessKeyId,
          secretAccessKey: source.secretAccessKey,
          sessionToken: source.sessionToken,
        });
    case "default-chain":
      return wrap(async () =>
        (await importNpm("@aws-sdk/credential-provider-node")).defaultProvider({
          profile: source.profile,
          logger,
          timeout: perRequest(),
          maxRetries: 1,
        })
      );
    case "environment":
      return wrap(async () => (await importNpm("@aws-sdk/credential-provider-env")).fromEnv({ logger }));
    case "instance-metadata":
      return wrap(async () =>
        (await importNpm("@smithy/credential-provider-imds")).fromInstanceMetadata(metadata())
      );
    case "container":
      return wrap(async () =>
        (await importNpm("@smithy/credential-provider-imds")).fromContainerMetadata(metadata())
      );
    case "sso":
      return wrap(async () =>
        (await importNpm("@aws-sdk/credential-provider-sso")).fromSSO({
          profile: source.profile,
          logger,
          clientConfig: { logger, maxAttempts: 1 },
        })
      );
    case "login":
      return wrap(() =>
        Promise.resolve(loginProvider(source, {
          deadline,
          logger,
          readToken: readLoginToken ??
            (() => Promise.reject(new Error("no reader for the aws login token was given"))),
        }))
      );
    case "none":
      return () => Promise.reject(new Error("this plan has no source credentials"));
    default:
      return unhandled(source, "source kind");
  }
}

const SOURCE_TIMEOUT_HINT: Partial<Record<SourcePlan["kind"], string>> = {
  "instance-metadata":
    "the instance metadata service is not answering (AWS_EC2_METADATA_SERVICE_ENDPOINT); allow more time with --timeout",
  "container":
    "the container credentials endpoint is not answering (AWS_CONTAINER_CREDENTIALS_FULL_URI); allow more time with --timeout",
  "sso":
    "the SSO portal is not answering; check sso_region and AWS_ENDPOINT_URL_SSO, or allow more time with --timeout",
  "login":
    "the sign-in endpoint is not answering (the aws login token needed a refresh); allow more time with --timeout",
  "default-chain":
    "a credential source (container endpoint, instance metadata, SSO) is not answering; name the source with --profile or allow more time with --timeout",
};

function normalize(
  c: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
    expiration?: Date;
    accountId?: string;
  },
): Credentials {
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: c.expiration,
    // An aws login session printed as it is names its account (`--include-account-id`); hops replace it.
    ...(typeof c.accountId === "string" && /^\d{12}$/.test(c.accountId) ? { accountId: c.accountId } : {}),
  };
}

function mapSourceError(e: unknown, what: string, source: SourcePlan): CredprocError {
  if (e instanceof CredprocError) return e;
  const text = errorText(e);
  if (/Requires run access|credential_process/i.test(text)) {
    return new SandboxError(
      what,
      "the profile uses credential_process, which cannot run inside credproc's sandbox",
      {
        hint:
          "point credproc at a profile with keys, SSO or credential_source (--profile NAME), or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        cause: e,
      },
    );
  }
  if (/Requires \w+ access/.test(text)) {
    return new SandboxError(what, `blocked by the sandbox: ${text}`, { cause: e });
  }
  const noneFound = source.kind === "default-chain" &&
    /Could not load credentials|Unable to find|not found/i.test(text);
  return new CredentialsError(
    what,
    noneFound ? "none found (environment, shared files, SSO, container, instance metadata)" : text,
    {
      hint: source.kind === "sso"
        ? `run aws sso login --profile ${source.profile} (the SSO token is missing or expired), then retry`
        : source.kind === "login"
        ? `run aws login --profile ${source.profile} (the login session is missing or expired), then retry`
        : source.kind === "environment"
        ? "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (credential_source = Environment)"
        : "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a source with --profile NAME",
      cause: e,
    },
  );
}
