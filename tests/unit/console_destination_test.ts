/**
 * lib/console/destination.ts: the partition `credproc console` signs in to (the role's, holding the region),
 * the default destination per partition, and `--destination` as the flag parser validates it.
 */
import assert from "node:assert/strict";
import { parseCommand } from "../../lib/cli/args.ts";
import { CredprocError } from "../../lib/errors.ts";
import {
  checkDestinationPartition,
  consolePartition,
  defaultDestination,
  validateDestination,
} from "../../lib/console/destination.ts";
import { regionPartition } from "../../lib/partitions.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";

function throwsCode(f: () => unknown, code: 1 | 2, what: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CredprocError, String(e));
    assert.equal(e.exitCode, code);
    assert.equal(e.what, what);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("console: the partition comes from the role ARN, and the region must be in it", () => {
  assert.equal(consolePartition(ROLE, "eu-west-1"), "aws");
  assert.equal(consolePartition("arn:aws-us-gov:iam::123456789012:role/r", "us-gov-west-1"), "aws-us-gov");
  assert.equal(consolePartition("arn:aws-cn:iam::123456789012:role/r", "cn-northwest-1"), "aws-cn");
  throwsCode(
    () => consolePartition("arn:aws-cn:iam::123456789012:role/r", "us-east-1"),
    2,
    "console",
    /^the role arn:aws-cn:iam::123456789012:role\/r is in partition aws-cn, but the region us-east-1 is in aws$/,
  );
  throwsCode(
    () => consolePartition("arn:aws-iso:iam::123456789012:role/r", "us-iso-east-1"),
    2,
    "console",
    /is in partition aws-iso, which has no console sign-in endpoint credproc knows$/,
  );
  assert.throws(
    () => consolePartition("arn:aws-eusc:iam::123456789012:role/r", "eusc-de-east-1"),
    (e: unknown) =>
      e instanceof CredprocError &&
      e.hint === "credproc console works for the aws, aws-us-gov and aws-cn partitions",
  );
  assert.deepEqual(
    ["us-east-1", "cn-north-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1"].map(
      regionPartition,
    ),
    ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e"],
  );
});

Deno.test("console: the default destination is the console home of the region, per partition", () => {
  assert.equal(
    defaultDestination("aws", "eu-west-1"),
    "https://console.aws.amazon.com/console/home?region=eu-west-1",
  );
  assert.equal(
    defaultDestination("aws-us-gov", "us-gov-west-1"),
    "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
  );
  assert.equal(
    defaultDestination("aws-cn", "cn-north-1"),
    "https://console.amazonaws.cn/console/home?region=cn-north-1",
  );
});

Deno.test("console: --destination is an https URL on a console host of aws, aws-us-gov or aws-cn", () => {
  for (
    const [given, normalised] of [
      ["https://console.aws.amazon.com/", "https://console.aws.amazon.com/"],
      [
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:",
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:",
      ],
      ["https://S3.Console.AWS.Amazon.com/s3/buckets", "https://s3.console.aws.amazon.com/s3/buckets"],
      ["https://console.amazonaws-us-gov.com/iam", "https://console.amazonaws-us-gov.com/iam"],
      ["https://console.amazonaws.cn", "https://console.amazonaws.cn/"],
    ]
  ) {
    assert.equal(validateDestination(given), normalised, given);
  }
  for (
    const [bad, why] of [
      ["console.aws.amazon.com", /is not a URL$/],
      ["http://console.aws.amazon.com/", /must use https$/],
      ["https://evil.test/", /^host evil\.test is not an AWS console host$/],
      ["https://console.aws.amazon.com.evil.test/", /is not an AWS console host$/],
      ["https://evilconsole.aws.amazon.com/", /is not an AWS console host$/],
      ["https://signin.aws.amazon.com/federation", /is not an AWS console host$/],
      ["https://console.aws.amazon.com@evil.test/", /^must not contain credentials$/],
      ["https://user:pw@console.aws.amazon.com/", /must not contain credentials$/],
      ["https://console.aws.amazon.com:8443/", /must not name a port$/],
      ["javascript:alert(1)", /must use https$/],
      ["https://console.aws.amazon.com/\n\u001b[31m", /^must not contain spaces or control characters/],
      ["https://console.aws.amazon.com/a b", /^must not contain spaces or control characters/],
      ["https://console.aws.amazon.com/\u202e", /^must not contain spaces or control characters/],
      [`https://console.aws.amazon.com/${"a".repeat(2048)}`, /^longer than 2048 characters$/],
    ] as const
  ) {
    throwsCode(() => validateDestination(bad), 2, "--destination", why);
  }
  checkDestinationPartition("https://eu-west-1.console.aws.amazon.com/", "aws");
  throwsCode(
    () => checkDestinationPartition("https://console.amazonaws.cn/", "aws"),
    2,
    "--destination",
    /^console\.amazonaws\.cn is a console of partition aws-cn, but the role is in aws$/,
  );
});

Deno.test("args: console refuses --format and --include-account-id, validates --destination", () => {
  const parsed = parseCommand([
    "console",
    "--role-arn",
    ROLE,
    "--destination",
    "https://console.aws.amazon.com",
  ]);
  assert.equal(parsed.kind, "console");
  assert.equal(parsed.kind === "console" && parsed.destination, "https://console.aws.amazon.com/");
  for (
    const [argv, what] of [
      [["console", "--role-arn", ROLE, "--format", "env"], "--format"],
      [["console", "--role-arn", ROLE, "--include-account-id"], "--include-account-id"],
      [["console", "--role-arn", ROLE, "--destination", "https://evil.test/"], "--destination"],
      [["console", "--role-arn", ROLE, "--destination", ""], "--destination"],
      [["--role-arn", ROLE, "--destination", "https://console.aws.amazon.com/"], "--destination"],
    ] as const
  ) {
    assert.throws(() => parseCommand([...argv]), (e: unknown) => {
      assert.ok(e instanceof CredprocError);
      assert.equal(e.exitCode, 2);
      assert.equal(e.what, what);
      return true;
    }, argv.join(" "));
  }
});
