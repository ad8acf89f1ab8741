/**
 * lib/cache/memo.ts: the fast path's memo document (format 1's field names kept), the files it watches, and
 * the "changed just now" window, bounded on both sides. Writing it is the session's (cache_session_test.ts).
 */
import assert from "node:assert/strict";
import { changedJustNow, memoText, parseMemo, watchedFiles } from "../../lib/cache/memo.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import { assumeOptions } from "../support/options.ts";

const STARTED = Date.parse("2026-12-01T12:00:00.000Z");
const NOW = STARTED + 300;

Deno.test("memo window: an edit while the plan was built counts; old files and far-future mtimes do not", () => {
  const cases: [string, number, boolean][] = [
    ["long before the process started", STARTED - 60_000, false],
    ["just outside the coarse-timestamp slack", STARTED - 2000, false],
    ["within the coarse-timestamp slack (FAT: 2 s)", STARTED - 1999, true],
    ["while the plan was being built", STARTED + 100, true],
    ["now", NOW, true],
    ["a few seconds ahead (a network file system's clock)", NOW + 5000, true],
    ["more than a few seconds ahead", NOW + 5001, false],
    ["an hour ahead (touch -d '+1 hour', an unpacked archive)", NOW + 3600_000, false],
  ];
  for (const [what, mtime, expected] of cases) {
    assert.equal(changedJustNow(mtime, STARTED, NOW), expected, what);
  }
});

Deno.test("memo: the document as format 1 has it (digests in `sha256`), read back as written", () => {
  const hmac = "f".repeat(64);
  const memo = {
    kind: "assume" as const,
    inputs: "1".repeat(64),
    key: "2".repeat(64),
    format: "env" as const,
    marginMs: 900_000,
    accountId: true as const,
    files: [{ path: "/h/.aws/config", hmac }, { path: "/h/.aws/credentials", hmac: null }],
  };
  const text = memoText(memo);
  assert.equal(
    text,
    `{"credproc":1,"kind":"assume","inputs":"${"1".repeat(64)}","key":"${
      "2".repeat(64)
    }","format":"env","marginMs":900000,` +
      `"accountId":true,"files":[{"path":"/h/.aws/config","sha256":"${hmac}"},` +
      `{"path":"/h/.aws/credentials","sha256":null}]}\n`,
  );
  assert.deepEqual(parseMemo(JSON.parse(text), memo.inputs), { credproc: 1, ...memo });
  assert.equal(parseMemo(JSON.parse(text), "3".repeat(64)), "it belongs to other inputs");
  // A memo written before memos recorded their kind is an assume memo, read as it always was.
  const { kind: _kind, ...before } = JSON.parse(text);
  assert.deepEqual(parseMemo(before, memo.inputs), { credproc: 1, ...memo });
});

Deno.test("memo: an eks-token memo records the role key and the endpoint, and no format", () => {
  const memo = {
    kind: "eks-token" as const,
    inputs: "1".repeat(64),
    key: "2".repeat(64),
    marginMs: 300_000,
    role: "3".repeat(64),
    cluster: "prod",
    tokenEndpoint: "https://sts.eu-west-1.amazonaws.com/",
    signingRegion: "eu-west-1",
    files: [],
  };
  const text = memoText(memo);
  const doc = JSON.parse(text);
  assert.equal(
    doc.format,
    undefined,
    "a credproc that predates the kind reads no format: it never prints it",
  );
  assert.deepEqual(parseMemo(doc, memo.inputs), { credproc: 1, ...memo });
  const refused: [string, Record<string, unknown>, string][] = [
    ["a format", { format: "process" }, "an eks-token memo has no format"],
    ["no role key", { role: "x" }, "it has no valid role key"],
    ["no cluster", { cluster: undefined }, "it has no valid token endpoint"],
    ["an endpoint with a space", { tokenEndpoint: "https://a b/" }, "it has no valid token endpoint"],
    ["another kind", { kind: "console" }, "it has no valid kind"],
  ];
  for (const [what, change, why] of refused) {
    assert.equal(parseMemo({ ...doc, ...change }, memo.inputs), why, what);
  }
});

Deno.test("memo: it watches the files the plan was read from and the ones it names, once each", () => {
  const plan = resolvePlan(
    assumeOptions(
      "--role-arn",
      "arn:aws:iam::123456789012:role/a",
      "--policy-file",
      "/p.json",
      "--role-arn",
      "arn:aws:iam::123456789012:role/b",
      "--web-identity-token-file",
      "/t",
    ),
    {},
    emptySharedConfig(),
    new Date(STARTED),
    "linux",
  );
  assert.deepEqual(watchedFiles(plan, ["/c", "/k", "/c"]), ["/c", "/k", "/p.json", "/t"]);
});
