/**
 * A corporate proxy, played on loopback, run by tests/e2e/network_faults_test.ts inside a network namespace of
 * its own (so the names Deno looks up are counted here, not by the suite's tripwire): credproc asks the SDK's
 * endpoint rules for STS in us-east-1 (`https://sts.us-east-1.amazonaws.com`, a real AWS host name) with
 * `HTTPS_PROXY` set; the CONNECT proxy tunnels that host to a TLS stand-in whose certificate names it (the
 * private CA through `DENO_CERT`); a resolver on 127.0.0.1:53 logs every name and answers REFUSED, as a
 * network without outside DNS would. Prints one JSON report on stdout.
 *
 * Run: `deno run -A tests/support/proxy_scenario.ts` (the tripwire reads /proc) as root inside `unshare --net --mount` with `lo`
 * up and `/etc/resolv.conf` naming 127.0.0.1.
 */
import { startTripwire } from "../../scripts/net_tripwire.ts";
import { makeTlsFixture, startConnectProxy } from "./net_fixtures.ts";
import { startStandin } from "./sts_standin/mod.ts";
import { ROLE, runCredproc, tempHome } from "./helpers.ts";

/** The STS host the SDK's endpoint rules give for us-east-1. */
export const STS_HOST = "sts.us-east-1.amazonaws.com";

/** What the scenario saw. */
export interface ProxyScenarioReport {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** CONNECT targets the proxy was asked for. */
  readonly connects: readonly string[];
  /** STS requests the stand-in behind the proxy received. */
  readonly stsRequests: number;
  /** Names looked up (`name TYPE`) and packets beyond loopback, from the tripwire. */
  readonly lookups: readonly string[];
  readonly beyondLoopback: number;
}

if (import.meta.main) {
  const tripwire = await startTripwire();
  const tls = await makeTlsFixture([STS_HOST]);
  try {
    await using standin = await startStandin({ tls: { cert: tls.cert, key: tls.key } });
    await using proxy = startConnectProxy((t) =>
      t === `${STS_HOST}:443` ? `127.0.0.1:${standin.port}` : undefined
    );
    await using home = await tempHome();
    const r = await runCredproc(
      ["--role-arn", ROLE, "--region", "us-east-1", "--no-cache"],
      home.env({
        AWS_ACCESS_KEY_ID: standin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
        HTTPS_PROXY: proxy.url,
        DENO_CERT: tls.caFile,
      }),
    );
    const seen = await tripwire.stop();
    const report: ProxyScenarioReport = {
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      connects: [...proxy.connects],
      stsRequests: standin.count(),
      lookups: seen.lookups,
      beyondLoopback: seen.beyondLoopback,
    };
    console.log(JSON.stringify(report));
  } finally {
    await tls.cleanup();
  }
}
