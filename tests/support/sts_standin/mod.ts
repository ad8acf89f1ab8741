/**
 * STS stand-in: a local server that speaks the STS AWS Query protocol closely enough for the AWS JS SDK v3,
 * the AWS CLI (v1 and v2) and boto3, used by credproc's end-to-end tests, demo and benchmark.
 *
 * - Listens on 127.0.0.1 only (optionally over TLS), never talks to anything else.
 * - Verifies SigV4 on its own (canonical request, string to sign and the HMAC chain written here with Web
 *   Crypto, no SDK signer), so a passing test really proves that the client signed what it sent.
 * - Answers `AssumeRole`, `AssumeRoleWithWebIdentity`, `GetSessionToken` and `GetCallerIdentity` with XML
 *   shaped like real STS, remembers the credentials it issues so chained calls verify too; also the SSO
 *   portal's GetRoleCredentials (`GET /federation/credentials`), so SSO profiles run end to end.
 * - Records every request and injects faults (STS errors, delays, hangs, broken bodies, HTML proxy pages).
 * - Can be driven over HTTP (`/__standin/...`) when started as a separate process.
 *
 * This module is the public face; the parts, each given the stand-in's state (`StandinState`) explicitly:
 * types.ts (constants, public types, the state), sigv4.ts (signature verification and signing), actions.ts
 * (the STS actions), render.ts (XML, STS errors, HTML pages), faults.ts (fault kinds and their effects),
 * server.ts (HTTP, request log, control endpoints, the handle), cli.ts (the process), util.ts (small helpers).
 *
 * CLI: `deno run -P=dev tests/support/sts_standin/mod.ts [--port N]` prints one JSON line
 * `{"url":…,"accessKeyId":…,"secretAccessKey":…}` and serves until SIGINT/SIGTERM.
 *
 * @module
 */

import { main } from "./cli.ts";

export {
  CONTROL_PREFIX,
  STANDIN_ACCESS_KEY_ID,
  STANDIN_ACCOUNT,
  STANDIN_KEYS,
  STANDIN_SECRET_ACCESS_KEY,
  STANDIN_USER_ARN,
  STANDIN_USER_NAME,
  STS_XMLNS,
} from "./types.ts";
export type {
  DenyCode,
  Fault,
  IssuedCredentials,
  RecordedRequest,
  Standin,
  StandinConfig,
  StandinOptions,
} from "./types.ts";
export { signStsRequest, sigv4Signature } from "./sigv4.ts";
export { assertFault } from "./faults.ts";
export { startStandin } from "./server.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
