/**
 * A stand-in for the AWS console federation endpoint (`https://signin.aws.amazon.com/federation`) on
 * 127.0.0.1, for `credproc console`: it records every request (method, path, query parameters, headers) and
 * answers GetSigninToken with a fixed token, or with a chosen failure (an HTTP status, garbage, a huge body, a
 * redirect, or nothing at all).
 */

/** What the stand-in answers GetSigninToken with. */
export type FederationAnswer =
  | { kind: "token" }
  | { kind: "status"; status: number; body?: string }
  | { kind: "body"; body: string; contentType?: string }
  | { kind: "huge"; bytes: number; declareLength: boolean }
  | { kind: "redirect"; location: string }
  | { kind: "hang" };

/** One request as received. */
export interface FederationRequest {
  readonly method: string;
  readonly path: string;
  /** The query parameters, decoded, in order (a repeated name appears twice). */
  readonly params: [string, string][];
  readonly headers: Record<string, string>;
}

/** A running stand-in. */
export interface FederationStandin {
  /** `http://127.0.0.1:PORT/federation` */
  readonly url: string;
  readonly requests: FederationRequest[];
  answer: FederationAnswer;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The token the stand-in issues: long and URL-safe like a real one (with `-` and `_`, which a URL must carry
 * unchanged, and `+`, `/`, `=`, which it must percent-encode).
 */
export const STANDIN_SIGNIN_TOKEN = "VCQgs5qZZt3Q6fn8Tr5EXAMPLE-signin_token+part/two==" +
  "Abc123-_".repeat(96);

/** Starts the stand-in on a free loopback port. */
export function startFederationStandin(answer: FederationAnswer = { kind: "token" }): FederationStandin {
  const requests: FederationRequest[] = [];
  const hanging = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    requests.push({
      method: req.method,
      path: url.pathname,
      params: [...url.searchParams],
      headers: Object.fromEntries(req.headers),
    });
    const a = standin.answer;
    switch (a.kind) {
      case "token":
        return Response.json({ SigninToken: STANDIN_SIGNIN_TOKEN });
      case "status":
        return new Response(a.body ?? `<html><body>Error ${a.status}</body></html>`, {
          status: a.status,
          headers: { "content-type": "text/html" },
        });
      case "body":
        return new Response(a.body, { headers: { "content-type": a.contentType ?? "application/json" } });
      case "redirect":
        return new Response(null, { status: 302, headers: { location: a.location } });
      case "huge": {
        const chunk = new TextEncoder().encode("x".repeat(65536));
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= a.bytes) return controller.close();
            sent += chunk.byteLength;
            controller.enqueue(chunk);
          },
        });
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (a.declareLength) headers["content-length"] = String(a.bytes);
        return new Response(body, { headers });
      }
      case "hang":
        // Never answers until the stand-in stops.
        return new Promise<Response>((resolve) => hanging.add(() => resolve(new Response("late"))));
    }
  });
  const standin: FederationStandin = {
    url: `http://127.0.0.1:${server.addr.port}/federation`,
    requests,
    answer,
    async [Symbol.asyncDispose]() {
      for (const release of hanging) release();
      await server.shutdown();
    },
  };
  return standin;
}
