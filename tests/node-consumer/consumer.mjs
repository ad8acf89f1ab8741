// A consumer of credproc's output written against the AWS SDK for JavaScript v3 on Node: credentials come
// only from the named profile's credential_process (fromProcess, which runs it through /bin/sh), then
// STS GetCallerIdentity is signed with them. Prints one JSON line: {"Arn": …, "Expiration": …}, plus
// "AccountId" when the SDK's resolved credentials carry one (credential_process printed `AccountId`).
//
//   node consumer.mjs --profile NAME [--endpoint URL] [--region REGION]
//   node consumer.mjs --default-chain [--endpoint URL] [--region REGION]
//
// Without --endpoint the SDK's own endpoint settings apply (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL).
// --default-chain leaves the credentials to the client's default provider chain (AWS_PROFILE picks the
// profile), the way most applications use the SDK.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

// Loaded with require() from this directory's node_modules (`npm ci` here): `deno check tests/` walks this
// file too, and static imports would send Deno looking for these packages in the repository's import map.
const require = createRequire(import.meta.url);
const { GetCallerIdentityCommand, STSClient } = require("@aws-sdk/client-sts");
const { fromProcess } = require("@aws-sdk/credential-provider-process");

const { values } = parseArgs({
  options: {
    profile: { type: "string" },
    endpoint: { type: "string" },
    region: { type: "string", default: "us-east-1" },
    "default-chain": { type: "boolean", default: false },
  },
  strict: true,
});
if (!values.profile === !values["default-chain"]) {
  process.stderr.write("consumer: --profile NAME or --default-chain is required\n");
  process.exit(2);
}

try {
  // Resolve once, explicitly from the profile: keys in the environment are never looked at. With
  // --default-chain, the client's own chain (environment, SSO, shared files with credential_process, …).
  const credentials = values.profile
    ? await fromProcess({ profile: values.profile })()
    : await new STSClient({ region: values.region }).config.credentials();
  const client = new STSClient({
    region: values.region,
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    credentials,
    maxAttempts: 1,
  });
  const who = await client.send(new GetCallerIdentityCommand({}));
  client.destroy();
  const expiration = credentials.expiration?.toISOString() ?? null;
  const line = JSON.stringify({
    Arn: who.Arn,
    Expiration: expiration,
    ...(credentials.accountId ? { AccountId: credentials.accountId } : {}),
  });
  process.stdout.write(`${line}\n`);
} catch (e) {
  const message = e?.message ?? String(e);
  process.stderr.write(`consumer: ${e?.name ?? "Error"}: ${message}\n`);
  process.exit(1);
}
