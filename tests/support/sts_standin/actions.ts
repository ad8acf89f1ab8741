/**
 * The STS actions the stand-in answers — GetCallerIdentity, GetSessionToken, AssumeRole and
 * AssumeRoleWithWebIdentity — with STS's own validation rules, MFA, role-chaining and session-policy limits.
 * Issued credentials are remembered in the state so that calls made with them verify too.
 *
 * @module
 */

import type { ActionResult, Caller, IssuedCredentials, StandinState } from "./types.ts";
import { STANDIN_ACCOUNT, STANDIN_USER_ARN } from "./types.ts";
import { credentialsXml, DENY_TABLE, StsFailure, success, validation, type XmlNode } from "./render.ts";
import { base64, randomString, SECRET_ALPHABET, stableId, UPPER_ALNUM } from "./util.ts";

/** The actions the stand-in knows; anything else is InvalidAction. */
export const ACTIONS = new Set([
  "AssumeRole",
  "AssumeRoleWithWebIdentity",
  "GetSessionToken",
  "GetCallerIdentity",
]);

const ROLE_ARN = /^arn:([a-z][a-z0-9-]*):iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]+)$/;
const SESSION_NAME = /^[\w+=,.@-]*$/;

function decodeJwtClaims(token: string): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) return {};
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const claims = JSON.parse(json);
    return typeof claims === "object" && claims !== null ? claims : {};
  } catch {
    return {};
  }
}

function baseCaller(accessKeyId?: string): Caller {
  return {
    accessKeyId,
    arn: STANDIN_USER_ARN,
    userId: stableId("AIDA", STANDIN_USER_ARN),
    account: STANDIN_ACCOUNT,
    isRoleSession: false,
    mfaAuthenticated: false,
    temporary: false,
  };
}

/** Who signed with `accessKeyId`: the base user, or the identity its issued credentials carry. */
export function callerFor(state: StandinState, accessKeyId: string | undefined): Caller {
  const temp = accessKeyId === undefined ? undefined : state.issued.get(accessKeyId);
  if (!temp) return baseCaller(accessKeyId);
  return {
    accessKeyId,
    arn: temp.arn,
    userId: temp.userId,
    account: temp.account,
    isRoleSession: temp.isRoleSession,
    mfaAuthenticated: temp.mfaAuthenticated,
    temporary: true,
  };
}

type Identity = Pick<IssuedCredentials, "arn" | "userId" | "account" | "isRoleSession" | "mfaAuthenticated">;

/** New credentials for `identity`, remembered in the state. */
function issue(
  state: StandinState,
  action: string,
  durationSeconds: number,
  identity: Identity,
): IssuedCredentials {
  let accessKeyId: string;
  do accessKeyId = `ASIA${randomString(16, UPPER_ALNUM)}`; while (
    state.issued.has(accessKeyId) || accessKeyId in state.keys
  );
  const tokenBytes = new Uint8Array(560);
  crypto.getRandomValues(tokenBytes);
  const creds: IssuedCredentials = {
    accessKeyId,
    secretAccessKey: randomString(40, SECRET_ALPHABET),
    sessionToken: `IQoJb3JpZ2luX2VjE${base64(tokenBytes)}`,
    expiration: new Date(state.config.expirationMs ?? Date.now() + durationSeconds * 1000),
    action,
    ...identity,
  };
  state.issued.set(accessKeyId, creds);
  return creds;
}

function parseDuration(
  params: Record<string, string>,
  field: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = params.DurationSeconds;
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw validation(field, raw, "Member must be an integer");
  const n = Number(raw);
  if (n < min) throw validation(field, raw, `Member must have value greater than or equal to ${min}`);
  if (n > max) throw validation(field, raw, `Member must have value less than or equal to ${max}`);
  return n;
}

function roleSession(params: Record<string, string>) {
  const roleArn = params.RoleArn;
  const session = params.RoleSessionName;
  if (roleArn === undefined) throw validation("roleArn", undefined, "Member must not be null");
  if (session === undefined) throw validation("roleSessionName", undefined, "Member must not be null");
  if (roleArn.length < 20 || roleArn.length > 2048) {
    throw validation("roleArn", roleArn, "Member must have length greater than or equal to 20");
  }
  if (session.length < 2 || session.length > 64) {
    throw validation(
      "roleSessionName",
      session,
      session.length < 2
        ? "Member must have length greater than or equal to 2"
        : "Member must have length less than or equal to 64",
    );
  }
  if (!SESSION_NAME.test(session)) {
    throw validation(
      "roleSessionName",
      session,
      "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    );
  }
  const m = ROLE_ARN.exec(roleArn);
  if (!m) throw new StsFailure(400, "ValidationError", `${roleArn} is invalid`);
  const [, partition, account, roleName] = m;
  const arn = `arn:${partition}:sts::${account}:assumed-role/${roleName}/${session}`;
  const userId = `${stableId("AROA", roleArn)}:${session}`;
  return { roleArn, session, partition, account, roleName, arn, userId };
}

function sessionPolicies(params: Record<string, string>): number | undefined {
  const policy = params.Policy;
  const arns = Object.keys(params).filter((k) => /^PolicyArns\.member\.\d+\.arn$/.test(k)).length;
  const tags = Object.keys(params).filter((k) => /^Tags\.member\.\d+\.Key$/.test(k)).length;
  if (policy !== undefined) {
    if (policy.length > 2048) {
      throw validation("policy", policy, "Member must have length less than or equal to 2048");
    }
    try {
      const doc = JSON.parse(policy);
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not an object");
    } catch {
      throw new StsFailure(400, "MalformedPolicyDocument", "The policy is not in the valid JSON format.");
    }
  }
  if (arns > 10) {
    throw validation("policyArns", undefined, "Member must have length less than or equal to 10");
  }
  if (tags > 50) throw validation("tags", undefined, "Member must have length less than or equal to 50");
  if (policy === undefined && arns === 0 && tags === 0) return undefined;
  const packed = Math.ceil(
    ((policy?.replace(/\s+/g, "").length ?? 0) * 0.5 + arns * 40 + tags * 20) / 10.24,
  );
  const size = Math.max(1, packed);
  if (size > 100) {
    throw new StsFailure(
      400,
      "PackedPolicyTooLarge",
      `Packed policy consumes ${size}% of allotted space, please use smaller policy for the session.`,
    );
  }
  return size;
}

/** STS's shape checks of `SerialNumber` and `TokenCode`, made whether or not MFA is required. */
function validateMfaParams(serial: string | undefined, code: string | undefined): void {
  if (
    serial !== undefined && (serial.length < 9 || serial.length > 256 || !/^[\w+=/:,.@-]*$/.test(serial))
  ) {
    throw validation(
      "serialNumber",
      serial,
      "Member must satisfy regular expression pattern: [\\w+=/:,.@-]*",
    );
  }
  if (code !== undefined && !/^\d{6}$/.test(code)) {
    throw validation(
      "tokenCode",
      code,
      code.length !== 6
        ? "Member must have length greater than or equal to 6"
        : "Member must satisfy regular expression pattern: [\\d]*",
    );
  }
}

/** MFA check; returns whether this call is MFA-authenticated. */
function checkMfa(
  state: StandinState,
  params: Record<string, string>,
  caller: Caller,
  action: string,
  resource: string,
): boolean {
  const serial = params.SerialNumber;
  const code = params.TokenCode;
  validateMfaParams(serial, code);
  const mfa = state.config.mfa;
  if (!mfa) return false;
  if (serial === undefined && code === undefined) {
    if (caller.mfaAuthenticated) return true;
    if (action === "AssumeRole") {
      throw new StsFailure(
        403,
        "AccessDenied",
        `User: ${caller.arn} is not authorized to perform: sts:${action} on resource: ${resource}`,
      );
    }
    throw new StsFailure(
      403,
      "AccessDenied",
      "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
    );
  }
  if (serial !== mfa.serial) {
    throw new StsFailure(
      403,
      "AccessDenied",
      "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
    );
  }
  if (code !== mfa.code) {
    throw new StsFailure(
      403,
      "AccessDenied",
      "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    );
  }
  return true;
}

/** The `MaxSessionDuration` check of the roles (AssumeRole and AssumeRoleWithWebIdentity). */
function checkMaxDuration(state: StandinState, duration: number): void {
  if (duration > state.config.maxSessionDurationSeconds) {
    throw new StsFailure(
      400,
      "ValidationError",
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  }
}

/** The parts every role session answer ends with: PackedPolicySize and SourceIdentity, when there are any. */
function roleSessionTail(packed: number | undefined, params: Record<string, string>): XmlNode[] {
  const tail: XmlNode[] = [];
  if (packed !== undefined) tail.push(["PackedPolicySize", String(packed)]);
  if (params.SourceIdentity !== undefined) tail.push(["SourceIdentity", params.SourceIdentity]);
  return tail;
}

function getCallerIdentity(caller: Caller, requestId: string): ActionResult {
  return success(
    "GetCallerIdentity",
    [["Arn", caller.arn], ["UserId", caller.userId], ["Account", caller.account]],
    requestId,
  );
}

function getSessionToken(
  state: StandinState,
  params: Record<string, string>,
  caller: Caller,
  requestId: string,
): ActionResult {
  const action = "GetSessionToken";
  if (caller.temporary) {
    throw new StsFailure(403, "AccessDenied", "Cannot call GetSessionToken with session credentials");
  }
  const duration = parseDuration(params, "durationSeconds", 900, 129600, 43200);
  const mfaAuthenticated = checkMfa(state, params, caller, action, caller.arn);
  const creds = issue(state, action, duration, {
    arn: caller.arn,
    userId: caller.userId,
    account: caller.account,
    isRoleSession: false,
    mfaAuthenticated,
  });
  return success(action, [credentialsXml(creds)], requestId);
}

function assumeRole(
  state: StandinState,
  params: Record<string, string>,
  caller: Caller,
  requestId: string,
): ActionResult {
  const action = "AssumeRole";
  const role = roleSession(params);
  const duration = parseDuration(params, "durationSeconds", 900, 43200, 3600);
  if (caller.isRoleSession && params.DurationSeconds !== undefined && duration > 3600) {
    throw new StsFailure(
      400,
      "ValidationError",
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
  }
  checkMaxDuration(state, duration);
  const packed = sessionPolicies(params);
  const mfaAuthenticated = checkMfa(state, params, caller, action, role.roleArn);
  const creds = issue(state, action, duration, {
    arn: role.arn,
    userId: role.userId,
    account: role.account,
    isRoleSession: true,
    mfaAuthenticated,
  });
  return success(action, [
    credentialsXml(creds),
    ["AssumedRoleUser", [["AssumedRoleId", role.userId], ["Arn", role.arn]]],
    ...roleSessionTail(packed, params),
  ], requestId);
}

/** The subject, audience and issuer AssumeRoleWithWebIdentity reports, from the token's claims when it has them. */
function webIdentityClaims(token: string): { sub: string; aud: string; iss: string } {
  const claims = decodeJwtClaims(token);
  const sub = typeof claims.sub === "string" ? claims.sub : "standin-subject";
  const aud = typeof claims.aud === "string"
    ? claims.aud
    : Array.isArray(claims.aud) && typeof claims.aud[0] === "string"
    ? claims.aud[0]
    : "sts.amazonaws.com";
  const iss = typeof claims.iss === "string" ? claims.iss.replace(/^https:\/\//, "") : "standin.local";
  return { sub, aud, iss };
}

function assumeRoleWithWebIdentity(
  state: StandinState,
  params: Record<string, string>,
  requestId: string,
): ActionResult {
  const action = "AssumeRoleWithWebIdentity";
  const role = roleSession(params);
  const token = params.WebIdentityToken;
  if (token === undefined) throw validation("webIdentityToken", undefined, "Member must not be null");
  if (token.length < 4) {
    throw validation("webIdentityToken", token, "Member must have length greater than or equal to 4");
  }
  const duration = parseDuration(params, "durationSeconds", 900, 43200, 3600);
  checkMaxDuration(state, duration);
  if (state.config.webIdentityToken !== null && token !== state.config.webIdentityToken) {
    throw new StsFailure(400, "InvalidIdentityToken", DENY_TABLE.InvalidIdentityToken.message);
  }
  const packed = sessionPolicies(params);
  const { sub, aud, iss } = webIdentityClaims(token);
  const creds = issue(state, action, duration, {
    arn: role.arn,
    userId: role.userId,
    account: role.account,
    isRoleSession: true,
    mfaAuthenticated: false,
  });
  return success(action, [
    credentialsXml(creds),
    ["SubjectFromWebIdentityToken", sub],
    ["AssumedRoleUser", [["AssumedRoleId", role.userId], ["Arn", role.arn]]],
    ["Provider", iss],
    ["Audience", aud],
    ...roleSessionTail(packed, params),
  ], requestId);
}

/** Runs one STS action for `caller`; throws an {@link StsFailure} for every STS error answer. */
export function runAction(
  state: StandinState,
  action: string,
  params: Record<string, string>,
  caller: Caller,
  requestId: string,
): ActionResult {
  switch (action) {
    case "GetCallerIdentity":
      return getCallerIdentity(caller, requestId);
    case "GetSessionToken":
      return getSessionToken(state, params, caller, requestId);
    case "AssumeRole":
      return assumeRole(state, params, caller, requestId);
    case "AssumeRoleWithWebIdentity":
      return assumeRoleWithWebIdentity(state, params, requestId);
  }
  throw new StsFailure(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
}

/**
 * The SSO portal's GetRoleCredentials (`GET /federation/credentials?account_id=…&role_name=…`, bearer token in
 * `x-amz-sso_bearer_token`): credentials for the permission set's role session, named after the signed-in
 * user (derived from the token, so another sign-in is another person). They verify in later STS calls.
 */
export function ssoRoleCredentials(
  state: StandinState,
  accountId: string,
  roleName: string,
  bearer: string,
): IssuedCredentials {
  const user = stableId("user-", bearer, 8).toLowerCase();
  const role = `AWSReservedSSO_${roleName}_0123456789abcdef`;
  return issue(state, "GetRoleCredentials", 3600, {
    arn: `arn:aws:sts::${accountId}:assumed-role/${role}/${user}`,
    userId: `${stableId("AROA", `${accountId}/${role}`)}:${user}`,
    account: accountId,
    isRoleSession: true,
    mfaAuthenticated: false,
  });
}
