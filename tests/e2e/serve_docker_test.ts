/**
 * What docs/usage.md says about reaching `credproc serve` from a container, checked without Docker (its engine
 * cannot run here):
 * - the SDKs refuse a plain-http container endpoint named `host.docker.internal` before sending anything:
 *   botocore (boto3), the AWS CLI v2's botocore and the JS SDK's `fromHttp` (the tripwire counts no lookup);
 * - a process in a network namespace of its own (what a bridge-network container is) cannot reach a server
 *   on the host's 127.0.0.1, and one in the host's namespace (`--network host`) can.
 */
import assert from "node:assert/strict";
import { AWS_V2, ignoreIf, ROOT, runProcess, tempHome } from "../support/helpers.ts";

const FULL_URI = "http://host.docker.internal:9911/credentials";
const IS_ROOT = (() => {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
})();

/** botocore's container provider, asked for credentials. */
const BOTOCORE = `
import botocore.session
try:
    c = botocore.session.get_session().get_credentials()
    print("credentials", c and c.method)
except Exception as e:
    print(type(e).__name__ + ": " + str(e))
`;

/** The JS SDK's container provider (`fromHttp`, what its default chain uses for the full URI). */
const FROM_HTTP = `
const { fromHttp } = require("@aws-sdk/credential-provider-http");
(async () => {
  try {
    const c = await fromHttp({})();
    console.log("credentials", c.accessKeyId);
  } catch (e) {
    console.log(e.name + ": " + e.message.split("\\n")[0]);
  }
})();
`;

Deno.test("the SDKs refuse a plain-http container endpoint at host.docker.internal, before any lookup", async () => {
  await using home = await tempHome();
  const env = home.env({
    AWS_CONTAINER_CREDENTIALS_FULL_URI: FULL_URI,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: "token-for-the-test",
    AWS_PAGER: "",
  });
  const boto = await runProcess("python3", ["-c", BOTOCORE], env);
  assert.equal(
    boto.stdout,
    "ValueError: Unsupported host 'host.docker.internal'.  Can only retrieve metadata from a loopback address " +
      "or one of these hosts: 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost\n",
    boto.stderr,
  );
  const cli = await runProcess(AWS_V2, ["sts", "get-caller-identity", "--region", "us-east-1"], env);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /Unsupported host 'host\.docker\.internal'\.\s+Can only retrieve metadata from/);
  const js = await runProcess("node", ["-e", FROM_HTTP], env, { cwd: `${ROOT}tests/node-consumer` });
  assert.equal(
    js.stdout,
    "CredentialsProviderError: URL not accepted. It must either be HTTPS or match one of the following:\n",
    js.stderr,
  );
});

Deno.test({
  ...ignoreIf(
    "a server on the host's 127.0.0.1: unreachable from another network namespace, reachable in the host's",
    !IS_ROOT && "needs root (unshare -n)",
  ),
  fn: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const accepting = (async () => {
      for await (const conn of listener) conn.close();
    })();
    const probe = `
import socket, sys
try:
    socket.create_connection(("127.0.0.1", ${port}), timeout=5).close()
    print("connected")
except OSError as e:
    print("refused" if isinstance(e, ConnectionRefusedError) else type(e).__name__)
`;
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
    try {
      // A namespace of its own, as a container on Docker's bridge network has: its 127.0.0.1 is its own.
      // Its loopback is up (Docker brings it up), so nothing listening there answers: refused.
      const bridge = await runProcess("unshare", [
        "--net",
        "sh",
        "-c",
        'ip link set lo up && exec python3 -c "$0"',
        probe,
      ], env);
      assert.equal(bridge.stdout.trim(), "refused", bridge.stderr);
      // The host's namespace, as `docker run --network host` gives a container on Linux.
      const host = await runProcess("python3", ["-c", probe], env);
      assert.equal(host.stdout.trim(), "connected", host.stderr);
    } finally {
      listener.close();
      await accepting.catch(() => {});
    }
  },
});
