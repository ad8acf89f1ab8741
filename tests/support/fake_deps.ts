/**
 * Fake collaborators for running whole commands through `cli()` (and `roleProvider`) in process: an STS that
 * records its calls and answers what the test says, a source, a fixed clock, the real uid. No network, no
 * terminal, no shared config files.
 */
import type { CliDeps } from "../../lib/cli/cli.ts";
import type { AssumeRoleParams, SessionTokenParams, StsConfig } from "../../lib/providers/sts.ts";
import type { Credentials, SourcePlan } from "../../lib/model.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";

/** The fake clock's time. */
export const FAKE_NOW = Date.parse("2026-11-25T12:00:00Z");
/** The role the fake STS says it assumed (`<role>/s`). */
export const FAKE_ROLE = "arn:aws:iam::123456789012:role/deploy";
/** What the fake source provider returns. */
export const FAKE_SOURCE: Credentials = {
  accessKeyId: "AKIAFAKESOURCE000001",
  secretAccessKey: "fakeSourceSecret/0123456789+abcdefghijAB",
};
/** What the fake AssumeRole returns (an hour from {@link FAKE_NOW}). */
export const FAKE_ASSUMED: Credentials = {
  accessKeyId: "ASIAFAKEASSUMED00001",
  secretAccessKey: "fakeAssumedSecret/0123456789+abcdefghijA",
  sessionToken: "IQoJb3JpZ2luX2VjEFakeSessionToken0123456789+/abcdef==",
  expiration: new Date(FAKE_NOW + 3600_000),
};
/** What the fake GetSessionToken returns (`--mfa-session`). */
export const FAKE_SESSION: Credentials = {
  accessKeyId: "ASIAFAKESESSION00001",
  secretAccessKey: "fakeSessionSecret/0123456789+abcdefghijA",
  sessionToken: "IQoJb3JpZ2luX2VjEFakeMfaSessionToken0123456789+/abcd==",
  expiration: new Date(FAKE_NOW + 3600_000),
};

/** One recorded AssumeRole call. */
export interface FakeStsCall {
  readonly config: StsConfig;
  readonly source: Credentials;
  readonly params: AssumeRoleParams;
}

/**
 * Fake collaborators. `answer` is AssumeRole's answer (default {@link FAKE_ASSUMED}); GetSessionToken answers
 * {@link FAKE_SESSION}; web identity and the network (the console's federation call) are refused unless `over`
 * gives its own (`{ fetch }`).
 */
export function fakeDeps(
  answer: () => Promise<Credentials> = () => Promise.resolve(FAKE_ASSUMED),
  over: Partial<CliDeps> = {},
): {
  deps: CliDeps;
  calls: FakeStsCall[];
  sessions: SessionTokenParams[];
  sources: SourcePlan[];
} {
  const calls: FakeStsCall[] = [];
  const sessions: SessionTokenParams[] = [];
  const sources: SourcePlan[] = [];
  const unexpected = () => Promise.reject(new Error("unexpected STS call"));
  const deps: CliDeps = {
    sts: (config) => ({
      assumeRole: async (source, params) => {
        calls.push({ config, source, params });
        return { credentials: await answer(), assumedRoleArn: `${FAKE_ROLE}/s` };
      },
      assumeRoleWithWebIdentity: unexpected,
      getSessionToken: (_source, params) => {
        sessions.push(params);
        return Promise.resolve({ credentials: FAKE_SESSION });
      },
    }),
    source: (plan) => () => {
      sources.push(plan);
      return Promise.resolve(FAKE_SOURCE);
    },
    prompt: () => () => Promise.reject(new Error("no prompt in this test")),
    readFile: (path) => Promise.reject(new Error(`no file ${path} in this test`)),
    loadSharedConfig: (paths) => Promise.resolve(emptySharedConfig(paths.configPath, paths.credentialsPath)),
    uid: () => Deno.uid(),
    os: "linux",
    clock: () => FAKE_NOW,
    homeDir: () => undefined,
    fetch: () => Promise.reject(new Error("no network in this test")),
    ...over,
  };
  return { deps, calls, sessions, sources };
}
