/**
 * The benchmark's reference row: one AssumeRole through `@aws-sdk/client-sts` with the same request handler
 * as credproc (`@smithy/fetch-http-handler`), and nothing else — no flags, no config files, no cache, no lock.
 * Whatever a cold call built on the SDK costs, this costs at least; `deno task bench` prints credproc's cold
 * call next to it. Reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; prints the credential document.
 *
 *   deno run -P scripts/sdk_floor.ts ROLE_ARN ENDPOINT_URL
 */
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";

const [roleArn, endpoint] = Deno.args;
const client = new STSClient({
  region: "us-east-1",
  endpoint,
  credentials: {
    accessKeyId: Deno.env.get("AWS_ACCESS_KEY_ID") ?? "",
    secretAccessKey: Deno.env.get("AWS_SECRET_ACCESS_KEY") ?? "",
  },
  requestHandler: new FetchHttpHandler(),
});
const { Credentials: c } = await client.send(
  new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "sdk-floor" }),
);
console.log(JSON.stringify({
  AccessKeyId: c?.AccessKeyId,
  SecretAccessKey: c?.SecretAccessKey,
  SessionToken: c?.SessionToken,
  Expiration: c?.Expiration?.toISOString(),
  Version: 1,
}));
