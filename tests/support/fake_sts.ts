/**
 * A deliberately crude STS on 127.0.0.1 for answers the real stand-in never gives: crafted field values
 * (shell metacharacters, expired, malformed), endless or huge bodies, and a socket that accepts and never
 * answers. It counts requests and keeps the last form it was sent (to check what reached it).
 */
import { type TempHome, tempHome } from "./helpers.ts";

/** What the fake answers. */
export type FakeAnswer =
  | { kind: "credentials"; accessKeyId?: string; secret?: string; token?: string; expiration?: string }
  | { kind: "deny"; message?: string }
  | { kind: "huge"; bytes: number; declareLength?: boolean }
  | { kind: "hang" };

/** A running fake. */
export interface FakeSts {
  readonly url: string;
  readonly requests: () => number;
  readonly forms: URLSearchParams[];
  answer: FakeAnswer;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Valid-looking credentials for answers that only change one field. */
export const GOOD = {
  accessKeyId: "ASIAFAKESTS000000001",
  secret: "fakeSecretKey/0123456789+abcdefghijABCDEFG",
  token: "IQoJb3JpZ2luX2VjEFakeSessionToken0123456789+/abcdefABCDEF==",
};

function xml(action: string, c: { accessKeyId: string; secret: string; token: string; expiration: string }) {
  return `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>` +
    `<Credentials><AccessKeyId>${esc(c.accessKeyId)}</AccessKeyId><SecretAccessKey>${
      esc(c.secret)
    }</SecretAccessKey>` +
    `<SessionToken>${esc(c.token)}</SessionToken><Expiration>${
      esc(c.expiration)
    }</Expiration></Credentials>` +
    `<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/deploy/s</Arn><AssumedRoleId>AROAFAKE:s</AssumedRoleId></AssumedRoleUser>` +
    `</${action}Result><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></${action}Response>`;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Starts the fake with a first answer (change `answer` at any time). */
export function startFakeSts(answer: FakeAnswer = { kind: "credentials" }): FakeSts {
  let count = 0;
  const forms: URLSearchParams[] = [];
  const hanging = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    count++;
    const form = new URLSearchParams(await req.text());
    forms.push(form);
    const action = form.get("Action") ?? "AssumeRole";
    const a = fake.answer;
    switch (a.kind) {
      case "credentials":
        return new Response(
          xml(action, {
            accessKeyId: a.accessKeyId ?? GOOD.accessKeyId,
            secret: a.secret ?? GOOD.secret,
            token: a.token ?? GOOD.token,
            expiration: a.expiration ?? new Date(Date.now() + 3600_000).toISOString(),
          }),
          { headers: { "content-type": "text/xml" } },
        );
      case "deny":
        return new Response(
          `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${
            esc(a.message ?? "not allowed")
          }</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
          { status: 403, headers: { "content-type": "text/xml" } },
        );
      case "huge": {
        const chunk = new TextEncoder().encode("<x>" + "A".repeat(65536 - 7) + "</x>");
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= a.bytes) return controller.close();
            controller.enqueue(chunk);
            sent += chunk.length;
          },
        });
        const headers: Record<string, string> = { "content-type": "text/xml" };
        if (a.declareLength) {
          headers["content-length"] = String(Math.ceil(a.bytes / chunk.length) * chunk.length);
        }
        return new Response(body, { headers });
      }
      case "hang":
        return await new Promise<Response>((resolve) =>
          hanging.add(() => resolve(new Response("late", { status: 500 })))
        );
    }
  });
  const fake: FakeSts = {
    url: `http://127.0.0.1:${server.addr.port}/`,
    requests: () => count,
    forms,
    answer,
    async [Symbol.asyncDispose]() {
      for (const release of hanging) release();
      await server.shutdown();
    },
  };
  return fake;
}

/** A TCP listener that accepts connections and never answers (a hung endpoint). */
export function startHangServer(): { url: string; [Symbol.asyncDispose](): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* closed */ }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    [Symbol.asyncDispose]() {
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      listener.close();
      return Promise.resolve();
    },
  };
}

/** A fake STS, a temp home, and that home's environment with the STS endpoint and environment keys set. */
export interface FakeStsHome {
  readonly sts: FakeSts;
  readonly home: TempHome;
  /** `home.env()` with `AWS_ENDPOINT_URL_STS` at the fake, `AWS_ACCESS_KEY_ID` = the given id, a dummy secret. */
  readonly env: Record<string, string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts {@link FakeStsHome}: the usual set-up of a test that runs credproc against the fake. */
export async function startFakeStsHome(
  accessKeyId: string,
  extraEnv: Record<string, string> = {},
): Promise<FakeStsHome> {
  const sts = startFakeSts();
  const home = await tempHome();
  const env = home.env({
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: "s",
    ...extraEnv,
  });
  return {
    sts,
    home,
    env,
    async [Symbol.asyncDispose]() {
      await sts[Symbol.asyncDispose]();
      await home.cleanup();
    },
  };
}
