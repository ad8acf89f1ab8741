/**
 * `aws login` for the tests: the token file `aws login` caches (`~/.aws/login/cache/<sha256(login_session)>.json`,
 * the schema `@aws-sdk/credential-provider-login` reads: `LoginToken` in its types), with an EC P-256 DPoP key
 * made by WebCrypto, and a stand-in for the sign-in token endpoint (`POST /v1/token`, CreateOAuth2Token over
 * REST-JSON) on 127.0.0.1. The stand-in checks what it can of each refresh, independently of the SDK:
 *
 * - method `POST`, path `/v1/token`, a JSON body `{clientId, grantType: "refresh_token", refreshToken}`;
 * - a `DPoP` header: a compact JWS with `typ: dpop+jwt`, `alg: ES256`, and a `jwk` equal to the public key of
 *   the private key in the cached token (derived here from the key the test wrote); its signature verifies
 *   against that key; `htm` is `POST`, `htu` is this stand-in's `/v1/token` URL; `iat` is within a minute of
 *   now; `jti` was never seen before;
 * - the refresh token is the session's current one (each refresh rotates it: the old one is refused after).
 *
 * Every problem found is recorded in `problems` (and the request refused), refreshes are counted, and
 * `reject` makes it refuse a refresh token as the service does for an expired session.
 */

/** Credentials the stand-in hands out (the STS stand-in is given them as known keys, see {@link LoginStandin.keys}). */
export interface IssuedKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** One signed-in session the stand-in knows. */
interface Session {
  readonly clientId: string;
  readonly publicJwk: JsonWebKey;
  refreshToken: string;
  /** Every refresh token this session had (a reused old one is refused). */
  readonly used: Set<string>;
}

/** A running stand-in. */
export interface LoginStandin {
  /** `http://127.0.0.1:PORT` (what `AWS_ENDPOINT_URL_SIGNIN` names). */
  readonly url: string;
  /** Successful refreshes. */
  refreshes(): number;
  /** Every POST received (refused ones included). */
  requests(): number;
  /** What was wrong with requests, one line each (empty when every request was right). */
  readonly problems: string[];
  /** Refuse every refresh with AccessDeniedException `TOKEN_EXPIRED` (an expired or revoked session). */
  reject: boolean;
  /** Every credential the stand-in may hand out (for the STS stand-in's `sessions`). */
  readonly pool: readonly (IssuedKeys & { arn: string })[];
  /** Every secret it issued or knows (refresh tokens, secret keys, session tokens), for leak checks. */
  secrets(): string[];
  /**
   * Called once per POST before its refresh token is checked (a test uses it to let "the AWS CLI" refresh
   * first, see {@link refreshAs}).
   */
  beforeRefresh?: () => Promise<void>;
  /**
   * Refreshes the session of the token file at `path` the way the AWS CLI (botocore) does, without HTTP: a new
   * refresh token and new credentials, the file rewritten by rename. Counts as one request and one refresh.
   */
  refreshAs(path: string): Promise<IssuedKeys>;
  /** Signs a session in: its token file, written where the SDK reads it (mode 0600 unless given). */
  signIn(o: SignInOptions): Promise<SignedIn>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What {@link LoginStandin.signIn} writes. */
export interface SignInOptions {
  /** `AWS_LOGIN_CACHE_DIRECTORY` or `<HOME>/.aws/login/cache`. */
  readonly dir: string;
  /** The `login_session` value. */
  readonly session: string;
  /** How long the access credentials in the file still last (negative: expired). */
  readonly remainingMs: number;
  readonly accountId?: string;
  /** Written into the token (the SDK refreshes there); none by default. */
  readonly signInRegion?: string;
  readonly mode?: number;
}

/** The written token file. */
export interface SignedIn {
  readonly path: string;
  /** The credentials in the file as written. */
  readonly keys: IssuedKeys;
  readonly refreshToken: string;
  /** The DPoP private key (PEM) — a secret. */
  readonly dpopKey: string;
}

/** The file name the SDK reads for a session: the hex SHA-256 of `login_session`. */
export async function loginTokenName(session: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(session)));
  return `${[...d].map((b) => b.toString(16).padStart(2, "0")).join("")}.json`;
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (s: string) =>
  Uint8Array.from(
    atob(s.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - s.length % 4) % 4)),
    (c) => c.charCodeAt(0),
  );
const random = (n: number) => b64url(crypto.getRandomValues(new Uint8Array(n)));

/** DER: tag, length, body. */
function tlv(tag: number, body: Uint8Array): Uint8Array {
  const len = body.length < 0x80 ? [body.length] : [0x81, body.length];
  return new Uint8Array([tag, ...len, ...body]);
}

/** An EC P-256 key pair: the private key as SEC1 PEM (`EC PRIVATE KEY`, what `aws login` writes), the public JWK. */
async function dpopKeyPair(): Promise<{ pem: string; publicJwk: JsonWebKey }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const [d, x, y] = [jwk.d!, jwk.x!, jwk.y!].map(fromB64url);
  const prime256v1 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
  // ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] parameters, [1] publicKey BIT STRING }
  const sec1 = tlv(
    0x30,
    new Uint8Array([
      ...tlv(0x02, new Uint8Array([1])),
      ...tlv(0x04, d),
      ...tlv(0xa0, prime256v1),
      ...tlv(0xa1, tlv(0x03, new Uint8Array([0, 4, ...x, ...y]))),
    ]),
  );
  const body = btoa(String.fromCharCode(...sec1)).match(/.{1,64}/g)!.join("\n");
  return {
    pem: `-----BEGIN EC PRIVATE KEY-----\n${body}\n-----END EC PRIVATE KEY-----\n`,
    publicJwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
  };
}

/** Starts the stand-in; `pool` keys are handed out in order (initial tokens and refreshes alike). */
export function startLoginStandin(pool = 32): LoginStandin {
  const issued: IssuedKeys[] = Array.from({ length: pool }, (_, i) => ({
    accessKeyId: `ASIALOGIN${String(i).padStart(11, "0")}`,
    secretAccessKey: `login-secret-${i}-${random(18)}`,
    sessionToken: `login-session-token-${i}-${random(48)}`,
  }));
  let next = 0;
  const take = () => {
    if (next >= issued.length) throw new Error("login stand-in: key pool exhausted");
    return issued[next++];
  };
  const sessions = new Map<string, Session>(); // by clientId
  const seenJti = new Set<string>();
  const refreshTokens: string[] = [];
  let refreshes = 0;
  let requests = 0;
  const problems: string[] = [];

  const refuse = (status: number, type: string, error: string, message: string) =>
    new Response(JSON.stringify({ error, message }), {
      status,
      headers: { "content-type": "application/json", "x-amzn-errortype": type },
    });

  async function checkDpop(req: Request, url: string, session: Session | undefined): Promise<string[]> {
    const out: string[] = [];
    const dpop = req.headers.get("dpop");
    if (dpop === null) return ["no DPoP header"];
    const parts = dpop.split(".");
    if (parts.length !== 3) return ["DPoP is not a compact JWS"];
    let header: Record<string, unknown>, payload: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(fromB64url(parts[0])));
      payload = JSON.parse(new TextDecoder().decode(fromB64url(parts[1])));
    } catch {
      return ["DPoP header or payload is not JSON"];
    }
    if (header.typ !== "dpop+jwt") out.push(`DPoP typ ${header.typ}`);
    if (header.alg !== "ES256") out.push(`DPoP alg ${header.alg}`);
    const jwk = header.jwk as JsonWebKey | undefined;
    if (jwk?.kty !== "EC" || jwk.crv !== "P-256") out.push("DPoP jwk is not an EC P-256 key");
    if (session !== undefined && (jwk?.x !== session.publicJwk.x || jwk?.y !== session.publicJwk.y)) {
      out.push("DPoP jwk is not the public key of the cached token's private key");
    }
    if (session !== undefined) {
      const key = await crypto.subtle.importKey(
        "jwk",
        session.publicJwk,
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      const ok = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        fromB64url(parts[2]),
        new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
      );
      if (!ok) out.push("DPoP signature does not verify with the cached token's key");
    }
    if (payload.htm !== req.method) out.push(`DPoP htm ${payload.htm}, request ${req.method}`);
    if (payload.htu !== url) out.push(`DPoP htu ${payload.htu}, expected ${url}`);
    const iat = Number(payload.iat);
    if (!Number.isInteger(iat) || Math.abs(iat - Date.now() / 1000) > 60) {
      out.push(`DPoP iat ${payload.iat} not fresh`);
    }
    const jti = payload.jti;
    if (typeof jti !== "string" || jti.length < 16) out.push("DPoP jti missing or short");
    else if (seenJti.has(jti)) out.push(`DPoP jti ${jti} reused`);
    else seenJti.add(jti);
    return out;
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests++;
    const u = new URL(req.url);
    const tokenUrl = `http://127.0.0.1:${server.addr.port}/v1/token`;
    if (req.method !== "POST" || u.pathname !== "/v1/token" || u.search !== "") {
      problems.push(`${req.method} ${u.pathname}${u.search}: not POST /v1/token`);
      return refuse(404, "ValidationException", "INVALID_REQUEST", "not found");
    }
    let body: Record<string, unknown>;
    try {
      body = await req.json();
    } catch {
      problems.push("body is not JSON");
      return refuse(400, "ValidationException", "INVALID_REQUEST", "body is not JSON");
    }
    if (standin.beforeRefresh) await standin.beforeRefresh();
    const session = typeof body.clientId === "string" ? sessions.get(body.clientId) : undefined;
    const found = await checkDpop(req, tokenUrl, session);
    if (session === undefined) found.push(`unknown clientId ${body.clientId}`);
    if (body.grantType !== "refresh_token") found.push(`grantType ${body.grantType}`);
    if (found.length > 0) {
      problems.push(...found);
      return refuse(400, "ValidationException", "INVALID_REQUEST", found.join("; "));
    }
    if (standin.reject || body.refreshToken !== session!.refreshToken) {
      if (!standin.reject) problems.push("a refresh token that is not the session's current one");
      return refuse(400, "AccessDeniedException", "TOKEN_EXPIRED", "The refresh token has expired.");
    }
    refreshes++;
    const keys = take();
    session!.used.add(session!.refreshToken);
    session!.refreshToken = `refresh-${random(32)}`;
    refreshTokens.push(session!.refreshToken);
    return new Response(
      JSON.stringify({
        accessToken: keys,
        tokenType: "aws_sigv4",
        expiresIn: 900,
        refreshToken: session!.refreshToken,
        idToken: `id.${random(24)}.sig`,
      }),
      { headers: { "content-type": "application/json" } },
    );
  });

  const standin: LoginStandin = {
    url: `http://127.0.0.1:${server.addr.port}`,
    refreshes: () => refreshes,
    requests: () => requests,
    problems,
    reject: false,
    pool: issued.map((k) => ({ ...k, arn: "arn:aws:iam::123456789012:user/alice" })),
    secrets: () => [
      ...refreshTokens,
      ...[...sessions.values()].flatMap((s) => [...s.used, s.refreshToken]),
      ...issued.slice(0, next).flatMap((k) => [k.secretAccessKey, k.sessionToken]),
    ],
    async refreshAs(path) {
      const doc = JSON.parse(await Deno.readTextFile(path));
      const session = sessions.get(doc.clientId);
      if (session === undefined) throw new Error(`login stand-in: no session for ${path}`);
      requests++;
      refreshes++;
      const keys = take();
      session.used.add(session.refreshToken);
      session.refreshToken = `refresh-${random(32)}`;
      refreshTokens.push(session.refreshToken);
      const next = {
        ...doc,
        accessToken: {
          ...keys,
          accountId: doc.accessToken.accountId,
          expiresAt: new Date(Date.now() + 900_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        },
        refreshToken: session.refreshToken,
      };
      const tmp = `${path}.${random(6)}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(next), { mode: 0o600 });
      await Deno.rename(tmp, path);
      return keys;
    },
    async signIn(o) {
      const { pem, publicJwk } = await dpopKeyPair();
      const clientId = `arn:aws:signin:::devtools/same-device-${random(6)}`;
      const refreshToken = `refresh-${random(32)}`;
      refreshTokens.push(refreshToken);
      sessions.set(clientId, { clientId, publicJwk, refreshToken, used: new Set() });
      const keys = take();
      const doc = {
        accessToken: {
          ...keys,
          accountId: o.accountId ?? "123456789012",
          expiresAt: new Date(Date.now() + o.remainingMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
        },
        tokenType: "aws_sigv4",
        clientId,
        refreshToken,
        idToken: `id.${random(24)}.sig`,
        dpopKey: pem,
        ...(o.signInRegion === undefined ? {} : { signInRegion: o.signInRegion }),
      };
      await Deno.mkdir(o.dir, { recursive: true, mode: 0o700 });
      const path = `${o.dir}/${await loginTokenName(o.session)}`;
      await Deno.writeTextFile(path, JSON.stringify(doc, null, 2), { mode: o.mode ?? 0o600 });
      await Deno.chmod(path, o.mode ?? 0o600);
      return { path, keys, refreshToken, dpopKey: pem };
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
  return standin;
}
