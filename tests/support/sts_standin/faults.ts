/**
 * Fault injection: which faults exist, how one is checked, and what each does to the request that consumes it —
 * before the action runs (delay, hang, an STS error, a body that is not XML, a proxy's HTML page) or to the answer
 * after it (truncated XML, a connection closed mid-body).
 *
 * Adding a fault kind: its shape in `Fault` (types.ts), its name in FAULT_KINDS and any field check in
 * {@link assertFault}, and its effect in {@link faultBefore} or {@link faultAfter}.
 *
 * @module
 */

import type { ActionResult, Caller, Fault, StandinState } from "./types.ts";
import {
  brokenResponse,
  DENY_TABLE,
  failureResult,
  fillMessage,
  htmlPage,
  StsFailure,
  xmlResponse,
} from "./render.ts";
import { delay, encoder, untilAborted } from "./util.ts";

const FAULT_KINDS = new Set([
  "error",
  "deny",
  "delay",
  "hang",
  "close-mid-body",
  "truncated-xml",
  "malformed-xml",
  "html",
]);

/** Checks that a value is a {@link Fault}; throws a TypeError saying what is wrong otherwise. */
export function assertFault(value: unknown): asserts value is Fault {
  if (typeof value !== "object" || value === null) throw new TypeError("a fault must be an object");
  const f = value as Record<string, unknown>;
  if (typeof f.kind !== "string" || !FAULT_KINDS.has(f.kind)) {
    throw new TypeError(
      `unknown fault kind ${JSON.stringify(f.kind)}; use one of ${[...FAULT_KINDS].join(", ")}`,
    );
  }
  if (f.kind === "error" && (typeof f.status !== "number" || typeof f.code !== "string")) {
    throw new TypeError('an "error" fault needs a numeric status and a string code');
  }
  if (f.kind === "deny" && typeof f.code !== "string") {
    throw new TypeError('a "deny" fault needs a string code');
  }
  if (f.kind === "delay" && (typeof f.ms !== "number" || !(f.ms >= 0))) {
    throw new TypeError('a "delay" fault needs ms >= 0');
  }
  if (f.kind === "html" && f.status !== undefined && typeof f.status !== "number") {
    throw new TypeError('an "html" fault status must be a number');
  }
}

/** The next fault for an incoming STS request: the head of the queue, else the default fault. */
export function takeFault(state: StandinState): Fault | undefined {
  return state.faults.shift() ?? state.defaultFault ?? undefined;
}

/** The STS error an `error` or `deny` fault answers. */
function faultFailure(
  fault: Extract<Fault, { kind: "error" | "deny" }>,
  action: string,
  params: Record<string, string>,
  caller: Caller,
): StsFailure {
  const known = DENY_TABLE[fault.code];
  const message = fault.message ?? known?.message ?? `${fault.code} (injected by the stand-in)`;
  const status = fault.kind === "error" ? fault.status : known?.status ?? 400;
  return new StsFailure(status, fault.code, fillMessage(message, action, params, caller), fault.retryAfter);
}

/** What a request of the log needs to know about how it was answered. */
export interface Answer {
  response: Response;
  status: number;
  errorCode?: string;
}

/** The effect of `fault` before the action runs: an answer that replaces it, or undefined to run the action. */
export async function faultBefore(
  state: StandinState,
  fault: Fault,
  request: { action: string; params: Record<string, string>; caller: Caller; requestId: string },
): Promise<Answer | undefined> {
  const { requestId } = request;
  switch (fault.kind) {
    case "delay":
      await delay(fault.ms, state.stopping);
      return undefined;
    case "hang":
      await untilAborted(state.stopping);
      return { response: brokenResponse(503, "", 1, requestId), status: 503 };
    case "error":
    case "deny": {
      const r = failureResult(faultFailure(fault, request.action, request.params, request.caller), requestId);
      return { response: xmlResponse(r, requestId), status: r.status, errorCode: r.errorCode };
    }
    case "malformed-xml":
      return {
        response: new Response("\u0000\u0001}{ this is <<not xml>> at all &&& ]]> </Credentials\n", {
          status: 200,
          headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        }),
        status: 200,
      };
    case "html": {
      const status = fault.status ?? 502;
      return {
        response: new Response(htmlPage(status), { status, headers: { "content-type": "text/html" } }),
        status,
      };
    }
  }
  return undefined;
}

/** The effect of `fault` on the action's answer: a broken version of it, or undefined to send it as it is. */
export function faultAfter(
  fault: Fault | undefined,
  result: ActionResult,
  requestId: string,
): Answer | undefined {
  if (fault?.kind === "truncated-xml") {
    const cut = result.cutAt ?? Math.floor(result.body.length / 2);
    const prefix = result.body.slice(0, cut);
    return {
      response: new Response(prefix, {
        status: 200,
        headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
      }),
      status: 200,
    };
  }
  if (fault?.kind === "close-mid-body") {
    const cut = result.cutAt ?? Math.floor(result.body.length / 2);
    return {
      response: brokenResponse(200, result.body.slice(0, cut), encoder.encode(result.body).length, requestId),
      status: 200,
    };
  }
  return undefined;
}
