/**
 * A plan's source → a credential provider. The SDK's own providers do the work (env, SSO token cache,
 * instance metadata, container endpoints, the default chain); they load lazily so a cache hit never pays.
 */
import { CredentialsError, CredprocError, SandboxError } from "../errors.ts";
import type { CredentialProvider, Credentials, SourcePlan } from "../model.ts";
import { describe } from "./sts.ts";

/** Builds the provider for a source; `timeoutMs` bounds metadata-service calls. */
export function sourceProvider(source: SourcePlan, timeoutMs: number): CredentialProvider {
  const what = source.kind === "default-chain"
    ? `source credentials${source.profile ? ` (profile ${source.profile})` : ""}`
    : `source credentials (${source.kind}${
      "profile" in source && source.profile ? ` from profile ${source.profile}` : ""
    })`;
  const wrap = (load: () => Promise<CredentialProvider>): CredentialProvider => async () => {
    try {
      return normalize(await (await load())());
    } catch (e) {
      throw mapSourceError(e, what, source);
    }
  };
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
        (await import("@aws-sdk/credential-provider-node")).defaultProvider({ profile: source.profile })
      );
    case "environment":
      return wrap(async () => (await import("@aws-sdk/credential-provider-env")).fromEnv());
    case "instance-metadata":
      return wrap(async () =>
        (await import("@smithy/credential-provider-imds")).fromInstanceMetadata({
          timeout: timeoutMs,
          maxRetries: 1,
        })
      );
    case "container":
      return wrap(async () =>
        (await import("@smithy/credential-provider-imds")).fromContainerMetadata({
          timeout: timeoutMs,
          maxRetries: 1,
        })
      );
    case "sso":
      return wrap(async () =>
        (await import("@aws-sdk/credential-provider-sso")).fromSSO({ profile: source.profile })
      );
    case "none":
      return () => Promise.reject(new Error("this plan has no source credentials"));
  }
}

function normalize(
  c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date },
): Credentials {
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: c.expiration,
  };
}

function mapSourceError(e: unknown, what: string, source: SourcePlan): CredprocError {
  if (e instanceof CredprocError) return e;
  const text = describe(e);
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
        : source.kind === "environment"
        ? "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (credential_source = Environment)"
        : "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a source with --profile NAME",
      cause: e,
    },
  );
}
