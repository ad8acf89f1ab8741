// Consumers of credproc serve's container endpoint for the end-to-end tests. Each takes credentials the way
// its SDK does from AWS_CONTAINER_CREDENTIALS_FULL_URI (and the token variables), signs STS
// GetCallerIdentity at --endpoint with them, and prints one JSON line {"Arn": …}.
//
//   node consumer.mjs --sdk js-v2 --endpoint URL        the AWS SDK for JavaScript v2's default chain
//   node consumer.mjs --sdk js-v3-container --endpoint URL   v3's fromContainerMetadata (@smithy)
//   node consumer.mjs --sdk crt --endpoint URL          the AWS CRT's default credentials chain (aws-c-auth)
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

// require() from this directory's node_modules (`npm ci` here): `deno check tests/` walks this file too.
const require = createRequire(import.meta.url);

const { values } = parseArgs({
  options: {
    sdk: { type: "string" },
    endpoint: { type: "string" },
    region: { type: "string", default: "us-east-1" },
  },
  strict: true,
});

/** The Arn in an STS GetCallerIdentity XML answer. */
function arnOf(xml) {
  const m = /<Arn>([^<]+)<\/Arn>/.exec(xml);
  if (!m) throw new Error(`no Arn in the answer: ${xml.slice(0, 200)}`);
  return m[1];
}

async function jsV2() {
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
  const AWS = require("aws-sdk");
  const credentials = await new AWS.CredentialProviderChain().resolvePromise();
  const sts = new AWS.STS({ region: values.region, endpoint: values.endpoint, credentials, maxRetries: 0 });
  const who = await sts.getCallerIdentity({}).promise();
  return { Arn: who.Arn, provider: credentials.constructor.name };
}

async function jsV3Container() {
  const { fromContainerMetadata } = require("@smithy/credential-provider-imds");
  const { GetCallerIdentityCommand, STSClient } = require("@aws-sdk/client-sts");
  const credentials = await fromContainerMetadata({ maxRetries: 0, timeout: 5000 })();
  const client = new STSClient({
    region: values.region,
    endpoint: values.endpoint,
    credentials,
    maxAttempts: 1,
  });
  const who = await client.send(new GetCallerIdentityCommand({}));
  client.destroy();
  return { Arn: who.Arn };
}

async function crt() {
  const { auth, http } = require("aws-crt");
  const url = new URL(values.endpoint);
  const body = "Action=GetCallerIdentity&Version=2011-06-15";
  const request = new http.HttpRequest(
    "POST",
    "/",
    new http.HttpHeaders([
      ["host", url.host],
      ["content-type", "application/x-www-form-urlencoded; charset=utf-8"],
      ["content-length", String(body.length)],
    ]),
  );
  const signed = await auth.aws_sign_request(request, {
    algorithm: auth.AwsSigningAlgorithm.SigV4,
    signature_type: auth.AwsSignatureType.HttpRequestViaHeaders,
    provider: auth.AwsCredentialsProvider.newDefault(),
    region: values.region,
    service: "sts",
    date: new Date(),
    signed_body_value: createHash("sha256").update(body).digest("hex"),
  });
  const headers = {};
  for (const [name, value] of signed.headers) if (name.toLowerCase() !== "host") headers[name] = value;
  const res = await fetch(new URL("/", url), { method: "POST", headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`STS answered ${res.status}: ${text.slice(0, 200)}`);
  return { Arn: arnOf(text) };
}

const run = { "js-v2": jsV2, "js-v3-container": jsV3Container, crt }[values.sdk ?? ""];
if (run === undefined || values.endpoint === undefined) {
  process.stderr.write("consumer: --sdk js-v2|js-v3-container|crt --endpoint URL\n");
  process.exit(2);
}
try {
  process.stdout.write(`${JSON.stringify(await run())}\n`);
  process.exit(0); // the CRT's event loop threads would otherwise keep the process a while
} catch (e) {
  process.stderr.write(`consumer: ${e?.name ?? "Error"}: ${e?.message ?? String(e)}\n`);
  process.exit(1);
}
