/**
 * The stand-in as a process (`deno run -P=dev tests/support/sts_standin/mod.ts`): options, one JSON line with
 * the URL and keys on stdout, then serve until SIGINT or SIGTERM.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { StandinOptions } from "./types.ts";
import { startStandin } from "./server.ts";

const USAGE = `usage: deno run -P=dev tests/support/sts_standin/mod.ts [options]

Starts the STS stand-in on 127.0.0.1, prints one JSON line {"url","accessKeyId","secretAccessKey"}
and serves until SIGINT or SIGTERM.

options:
  --port N                  port to listen on (default: a free one)
  --tls-cert FILE           serve HTTPS with this PEM certificate (needs --tls-key)
  --tls-key FILE            the PEM private key of --tls-cert
  --no-verify               do not reject requests whose signature does not verify
  --mfa-serial ARN          require this MFA device for AssumeRole and GetSessionToken (needs --mfa-code)
  --mfa-code CODE           the MFA code to accept
  --web-identity-token TOK  accept only this AssumeRoleWithWebIdentity token
  -h, --help                show this help
`;

/** Runs the stand-in CLI with `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "no-verify": { type: "boolean" },
        "mfa-serial": { type: "string" },
        "mfa-code": { type: "string" },
        "web-identity-token": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`sts_standin: ${e instanceof Error ? e.message : e}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const options: StandinOptions = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) {
      console.error(
        `sts_standin: --port must be a number from 0 to 65535, not ${JSON.stringify(values.port)}`,
      );
      return 2;
    }
    options.port = port;
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    console.error("sts_standin: --tls-cert and --tls-key go together");
    return 2;
  }
  if (values["tls-cert"] !== undefined && values["tls-key"] !== undefined) {
    options.tls = {
      cert: await Deno.readTextFile(values["tls-cert"]),
      key: await Deno.readTextFile(values["tls-key"]),
    };
  }
  if ((values["mfa-serial"] === undefined) !== (values["mfa-code"] === undefined)) {
    console.error("sts_standin: --mfa-serial and --mfa-code go together");
    return 2;
  }
  if (values["mfa-serial"] !== undefined && values["mfa-code"] !== undefined) {
    options.mfa = { serial: values["mfa-serial"], code: values["mfa-code"] };
  }
  if (values["no-verify"]) options.verifySignatures = false;
  if (values["web-identity-token"] !== undefined) options.webIdentityToken = values["web-identity-token"];

  const standin = await startStandin(options);
  console.log(JSON.stringify({
    url: standin.url,
    accessKeyId: standin.accessKeyId,
    secretAccessKey: standin.secretAccessKey,
  }));
  await new Promise<void>((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const onSignal = () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      resolve();
    };
    for (const s of signals) Deno.addSignalListener(s, onSignal);
  });
  await standin.stop();
  return 0;
}
