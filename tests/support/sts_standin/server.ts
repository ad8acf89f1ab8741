/**
 * The server: HTTP on 127.0.0.1, the request log, the control endpoints (`/__standin/...`) and the
 * {@link Standin} handle. Each STS request is parsed and recorded, takes its fault, has its signature checked
 * (sigv4.ts), then is answered by the fault (faults.ts) or the action (actions.ts).
 *
 * @module
 */

import type {
  ConfigState,
  Fault,
  RecordedRequest,
  Standin,
  StandinConfig,
  StandinOptions,
  StandinState,
} from "./types.ts";
import { CONTROL_PREFIX, STANDIN_KEYS } from "./types.ts";
import { ACTIONS, callerFor, runAction, ssoRoleCredentials } from "./actions.ts";
import { type Answer, assertFault, faultAfter, faultBefore, takeFault } from "./faults.ts";
import { failureResult, StsFailure, xmlResponse } from "./render.ts";
import { checkSignature } from "./sigv4.ts";
import { DeliberateAbort } from "./util.ts";

const DEFAULT_MAX_SESSION_SECONDS = 43200;
const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** The settings a stand-in starts with. */
function initialConfig(opts: StandinOptions): ConfigState {
  return {
    verifySignatures: opts.verifySignatures ?? true,
    mfa: opts.mfa ?? null,
    webIdentityToken: opts.webIdentityToken ?? null,
    expirationMs: opts.expirationMs ?? null,
    maxSessionDurationSeconds: opts.maxSessionDurationSeconds ?? DEFAULT_MAX_SESSION_SECONDS,
    maxClockSkewMs: opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
  };
}

/** Changes the settings of a running stand-in; an unknown setting is a TypeError. */
function configure(config: ConfigState, c: StandinConfig): void {
  for (const k of Object.keys(c)) {
    if (!(k in config)) throw new TypeError(`configure: unknown setting ${JSON.stringify(k)}`);
  }
  if ("verifySignatures" in c) config.verifySignatures = c.verifySignatures ?? true;
  if ("mfa" in c) config.mfa = c.mfa ?? null;
  if ("webIdentityToken" in c) config.webIdentityToken = c.webIdentityToken ?? null;
  if ("expirationMs" in c) config.expirationMs = c.expirationMs ?? null;
  if ("maxSessionDurationSeconds" in c) {
    config.maxSessionDurationSeconds = c.maxSessionDurationSeconds ?? DEFAULT_MAX_SESSION_SECONDS;
  }
  if ("maxClockSkewMs" in c) config.maxClockSkewMs = c.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
}

/** Clears the request log; with `faults` also the fault queue and the default fault. */
function reset(state: StandinState, options?: { faults?: boolean }): void {
  state.requests.length = 0;
  if (options?.faults) {
    state.faults.length = 0;
    state.defaultFault = null;
  }
}

// --- control endpoints ----------------------------------------------------------------------------------

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

async function readJson(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.trim() === "") return {};
  const value = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("body must be a JSON object");
  }
  return value;
}

/** `POST /__standin/faults`: `{queue?, default?, clear?}`. */
function postFaults(state: StandinState, body: Record<string, unknown>): Response {
  const queue = body.queue ?? [];
  if (!Array.isArray(queue)) throw new TypeError("queue must be an array of faults");
  queue.forEach(assertFault);
  if (body.default !== undefined && body.default !== null) assertFault(body.default);
  if (body.clear === true) state.faults.length = 0;
  state.faults.push(...queue);
  if (body.default !== undefined) state.defaultFault = body.default as Fault | null;
  return json({ queue: state.faults, default: state.defaultFault });
}

async function control(state: StandinState, req: Request, url: URL): Promise<Response> {
  const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
  try {
    switch (route) {
      case "GET /__standin/requests":
        return json(state.requests);
      case "GET /__standin/faults":
        return json({ queue: state.faults, default: state.defaultFault });
      case "POST /__standin/faults":
        return postFaults(state, await readJson(req));
      case "POST /__standin/reset": {
        const body = await readJson(req);
        reset(state, { faults: body.faults === true });
        return json({ ok: true });
      }
      case "POST /__standin/config":
        configure(state.config, (await readJson(req)) as StandinConfig);
        return json({ ok: true });
      case "GET /__standin/issued":
        return json([...state.issued.values()]);
    }
    return json({ error: `no control endpoint ${route}` }, 404);
  } catch (e) {
    return json({ error: e instanceof Error ? e.message : String(e) }, 400);
  }
}

// --- STS requests ---------------------------------------------------------------------------------------

/** Reads an STS request's body and parameters (query, and a form body) and starts its log entry. */
async function parseRequest(req: Request, url: URL) {
  const time = Date.now();
  const body = new Uint8Array(await req.arrayBuffer());
  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  const contentType = req.headers.get("content-type") ?? "";
  if (
    req.method === "POST" &&
    (contentType === "" || contentType.startsWith("application/x-www-form-urlencoded"))
  ) {
    for (const [k, v] of new URLSearchParams(new TextDecoder().decode(body))) params[k] = v;
  }
  const action = params.Action ?? "";
  const rec: RecordedRequest = {
    action,
    params,
    signatureValid: null,
    hasSessionToken: req.headers.has("x-amz-security-token") || url.searchParams.has("X-Amz-Security-Token"),
    time,
    method: req.method,
    path: url.pathname,
  };
  const ua = req.headers.get("user-agent");
  if (ua !== null) rec.userAgent = ua;
  if (params.SerialNumber !== undefined || params.TokenCode !== undefined) {
    rec.mfa = { serial: params.SerialNumber, code: params.TokenCode };
  }
  return { body, params, action, rec };
}

/**
 * Checks the signature (always) and records the outcome; returns the STS error to answer when
 * verifySignatures is on and it failed. AssumeRoleWithWebIdentity may come without any Authorization at all.
 */
async function authenticate(
  state: StandinState,
  req: Request,
  url: URL,
  body: Uint8Array<ArrayBuffer>,
  rec: RecordedRequest,
): Promise<{ accessKeyId?: string; failure?: StsFailure }> {
  const sig = await checkSignature(state, req, url, body);
  rec.signatureValid = sig.valid;
  if (sig.accessKeyId !== undefined) rec.accessKeyId = sig.accessKeyId;
  if (sig.region !== undefined) rec.region = sig.region;
  if (sig.reason !== undefined && sig.valid !== null) rec.signatureError = sig.reason;
  let failure: StsFailure | undefined;
  if (sig.failure) {
    const unsignedAction = rec.action === "AssumeRoleWithWebIdentity";
    const noAuthAtAll = sig.valid === null && req.headers.get("authorization") === null;
    if (!(unsignedAction && noAuthAtAll) && state.config.verifySignatures) failure = sig.failure;
  }
  return { accessKeyId: sig.accessKeyId, failure };
}

/** Answers one STS request: the fault it consumed, else the action (or the STS error it ends in). */
async function handleSts(state: StandinState, req: Request, url: URL): Promise<Answer> {
  const { body, params, action, rec } = await parseRequest(req, url);
  const requestId = crypto.randomUUID();
  state.requests.push(rec);
  const fault = takeFault(state);
  if (fault) rec.fault = fault;
  const auth = await authenticate(state, req, url, body, rec);
  const caller = callerFor(state, auth.accessKeyId);

  const early = fault && await faultBefore(state, fault, { action, params, caller, requestId });
  if (early) return record(rec, early);

  let result;
  try {
    if (auth.failure) throw auth.failure;
    if (action === "") throw new StsFailure(400, "MissingAction", "Missing Action");
    if (!ACTIONS.has(action)) {
      throw new StsFailure(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
    }
    result = runAction(state, action, params, caller, requestId);
  } catch (e) {
    if (!(e instanceof StsFailure)) throw e;
    result = failureResult(e, requestId);
  }
  const broken = faultAfter(fault, result, requestId);
  if (broken) return record(rec, broken);
  return record(rec, {
    response: xmlResponse(result, requestId, wantsJson(req)),
    status: result.status,
    errorCode: result.errorCode,
  });
}

/** Whether the client asked for STS's JSON answers (`Accept: application/json`, as aws-iam-authenticator does). */
function wantsJson(req: Request): boolean {
  return (req.headers.get("accept") ?? "").toLowerCase().includes("application/json");
}

/** Notes how a request was answered in its log entry. */
function record(rec: RecordedRequest, answer: Answer): Answer {
  rec.status = answer.status;
  if (answer.errorCode !== undefined) rec.errorCode = answer.errorCode;
  return answer;
}

/**
 * The SSO portal's GetRoleCredentials, recorded like an STS request (action `GetRoleCredentials`, the query
 * parameters and the bearer token as `params.bearer`); faults apply to it as to STS requests.
 */
async function handleSso(state: StandinState, req: Request, url: URL): Promise<Answer> {
  const { params, rec } = await parseRequest(req, url);
  rec.action = "GetRoleCredentials";
  const bearer = req.headers.get("x-amz-sso_bearer_token");
  if (bearer !== null) params.bearer = bearer;
  state.requests.push(rec);
  const requestId = crypto.randomUUID();
  const fault = takeFault(state);
  if (fault) rec.fault = fault;
  const early = fault && await faultBefore(state, fault, {
    action: rec.action,
    params,
    caller: callerFor(state, undefined),
    requestId,
  });
  if (early) return record(rec, early);
  const reply = (status: number, body: unknown) =>
    record(rec, {
      response: new Response(JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json" },
      }),
      status,
      ...(status === 200 ? {} : { errorCode: "UnauthorizedException" }),
    });
  const accountId = params.account_id ?? "";
  const roleName = params.role_name ?? "";
  if (bearer === null || bearer === "" || !/^\d{12}$/.test(accountId) || roleName === "") {
    return reply(401, { message: "Session token not found or invalid" });
  }
  const c = ssoRoleCredentials(state, accountId, roleName, bearer);
  return reply(200, {
    roleCredentials: {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration.getTime(),
    },
  });
}

/** The request handler: control endpoints, the SSO portal's one route, else STS. */
function handler(state: StandinState): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname.startsWith(CONTROL_PREFIX)) return control(state, req, url);
    if (req.method === "GET" && url.pathname === "/federation/credentials") {
      return (await handleSso(state, req, url)).response;
    }
    return (await handleSts(state, req, url)).response;
  };
}

// --- the handle -----------------------------------------------------------------------------------------

/** Starts a stand-in; stop it with {@link Standin.stop} (or `await using`). */
export async function startStandin(opts: StandinOptions = {}): Promise<Standin> {
  const keys: Record<string, string> = { ...(opts.keys ?? STANDIN_KEYS) };
  const firstKey = Object.keys(keys)[0];
  if (firstKey === undefined) throw new TypeError("startStandin: keys must hold at least one access key");
  const stopping = new AbortController();
  const serverAbort = new AbortController();
  const state: StandinState = {
    keys,
    config: initialConfig(opts),
    requests: [],
    faults: [],
    defaultFault: null,
    issued: new Map(),
    stopping: stopping.signal,
  };
  // Temporary credentials issued elsewhere (the login stand-in's): accepted as if this stand-in had issued them.
  for (const t of opts.sessions ?? []) {
    state.issued.set(t.accessKeyId, {
      ...t,
      expiration: new Date(Date.now() + 12 * 3600_000),
      action: "external",
      userId: t.accessKeyId,
      account: t.arn.split(":")[4],
      isRoleSession: /:assumed-role\//.test(t.arn),
      mfaAuthenticated: false,
    });
  }

  const serveOptions = {
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    signal: serverAbort.signal,
    onListen() {},
    onError(error: unknown): Response {
      if (!(error instanceof DeliberateAbort)) console.error("sts stand-in: handler error:", error);
      return new Response("internal stand-in error", { status: 500 });
    },
  };
  const handle = handler(state);
  const server = opts.tls
    ? Deno.serve({ ...serveOptions, cert: opts.tls.cert, key: opts.tls.key }, handle)
    : Deno.serve(serveOptions, handle);
  const port = server.addr.port;

  let stopped: Promise<void> | undefined;
  const standin: Standin = {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}/`,
    hostname: "127.0.0.1",
    port,
    accessKeyId: firstKey,
    secretAccessKey: keys[firstKey],
    requests: state.requests,
    faults: state.faults,
    get defaultFault() {
      return state.defaultFault;
    },
    issued: state.issued,
    count(action?: string) {
      const { requests } = state;
      return action === undefined ? requests.length : requests.filter((r) => r.action === action).length;
    },
    reset(options?: { faults?: boolean }) {
      reset(state, options);
    },
    pushFault(...more: Fault[]) {
      more.forEach(assertFault);
      state.faults.push(...more);
    },
    setDefaultFault(fault: Fault | null) {
      if (fault !== null) assertFault(fault);
      state.defaultFault = fault;
    },
    configure(config: StandinConfig) {
      configure(state.config, config);
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort(); // releases hanging and delayed handlers
        serverAbort.abort();
        await server.finished;
      })();
      return stopped;
    },
    [Symbol.asyncDispose]() {
      return standin.stop();
    },
  };
  // Deno.serve listens synchronously; the promise keeps room for asynchronous setup.
  return await Promise.resolve(standin);
}
