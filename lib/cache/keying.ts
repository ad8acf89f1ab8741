/**
 * Which field of each part of the plan enters the cache key: one table, {@link KEYING}, that the compiler
 * keeps complete (a field added to a plan type is an error here until it is decided) and
 * tests/unit/cache_keying_test.ts turns into one variant per keyed field. Its own module so that the fast
 * path, which loads lib/cache/key.ts, does not load the table.
 */
import type { EndpointPlan, HopPlan, MfaSessionPlan, Plan, SourceEnv } from "../model.ts";

/** Whether a field of the plan enters the cache key (directly, or as a keyed digest for secrets). */
export type Keying = "keyed" | "not keyed";

/** One entry per field of `T`: a field added to the type is a compile error here until it is decided. */
type FieldKeying<T> = Readonly<Record<keyof T, Keying>>;

/**
 * Which fields of each part of the plan the key holds, and why the others do not: the rule, stated once. The
 * material functions in key.ts destructure every field (with `noOtherFields`) so that the compiler names a new
 * one there too, and tests/unit/cache_keying_test.ts needs a variant for every field marked keyed here that
 * changes the key: a new input cannot silently miss it.
 */
export const KEYING = {
  plan: {
    source: "keyed",
    sourceEnv: "keyed",
    profile: "keyed",
    mfaSession: "keyed",
    hops: "keyed",
    endpoint: "keyed",
    includeAccountId: "keyed",
    // How the call is made or printed, or where the entry is kept, does not change the credentials.
    retry: "not keyed",
    format: "not keyed",
    cacheDir: "not keyed",
    // Derived from the source and the hops, or only for messages.
    sourceIsRole: "not keyed",
    profiles: "not keyed",
  } satisfies FieldKeying<Plan>,
  hop: {
    kind: "keyed",
    roleArn: "keyed",
    roleSessionName: "keyed", // unless generated (see hopMaterial in key.ts)
    durationSeconds: "keyed",
    externalId: "keyed",
    serialNumber: "keyed",
    policy: "keyed",
    policyArns: "keyed",
    tags: "keyed",
    transitiveTagKeys: "keyed",
    sourceIdentity: "keyed",
    webIdentity: "keyed",
    // The MFA code changes every 30 s; the profile that defined the hop is keyed as the plan's.
    tokenCode: "not keyed",
    profile: "not keyed",
  } satisfies FieldKeying<HopPlan>,
  endpoint: {
    region: "keyed",
    endpointUrl: "keyed",
    useFips: "keyed",
    useDualstack: "keyed",
    useGlobalEndpoint: "keyed",
    endpointFrom: "not keyed", // where the URL came from, for messages
  } satisfies FieldKeying<EndpointPlan>,
  sourceEnv: {
    accessKeyId: "keyed",
    // Through the keyed digest of the plan's secrets (lib/plan/secrets.ts), never in clear.
    secretAccessKey: "keyed",
    sessionToken: "keyed",
    profile: "keyed",
    configFile: "keyed",
    credentialsFile: "keyed",
    roleArn: "keyed",
    containerFullUri: "keyed",
    containerRelativeUri: "keyed",
    imdsEndpoint: "keyed",
  } satisfies FieldKeying<SourceEnv>,
  mfaSession: {
    serialNumber: "keyed",
    durationSeconds: "keyed",
    tokenCode: "not keyed", // changes every 30 s
  } satisfies FieldKeying<MfaSessionPlan>,
} as const;

/** The fields of one part of {@link KEYING} marked keyed, as a type (for tests that must cover each). */
export type KeyedField<Part extends keyof typeof KEYING> = {
  [F in keyof typeof KEYING[Part]]: typeof KEYING[Part][F] extends "keyed" ? F : never;
}[keyof typeof KEYING[Part]];
