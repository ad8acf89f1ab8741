/**
 * Where `credproc console` sends the browser, and the partition it signs in to: the role's partition (its
 * credentials are valid there and nowhere else), which must have a console and hold the plan's region; the
 * console home of the region by default, or `--destination`, a console URL of that partition. The hosts are
 * the partition table's (lib/partitions.ts).
 */
import { InputError } from "../errors.ts";
import {
  arnPartition,
  consoleOf,
  type ConsolePartition,
  PARTITIONS,
  regionPartition,
} from "../partitions.ts";
import { validateUrl } from "../validate.ts";

/** The partitions with a console, in the table's order. */
const CONSOLE_PARTITIONS = PARTITIONS.filter((p) => p.console !== undefined).map((p) => p.id);

/** `a, b and c`. */
function inWords(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** The longest `--destination` taken (console deep links are far shorter; the login URL must stay usable). */
export const MAX_DESTINATION_CHARS = 2048;

/**
 * The console partition of the role `roleArn` (the last hop), checked against the plan's region: a region of
 * another partition would send the credentials to the wrong STS and the user to the wrong console (exit 2).
 */
export function consolePartition(roleArn: string, region: string): ConsolePartition {
  const partition = arnPartition(roleArn);
  const hosts = consoleOf(partition);
  if (hosts === undefined) {
    throw new InputError(
      "console",
      `the role ${roleArn} is in partition ${partition}, which has no console sign-in endpoint credproc knows`,
      { hint: `credproc console works for the ${inWords(CONSOLE_PARTITIONS)} partitions` },
    );
  }
  const ofRegion = regionPartition(region);
  if (ofRegion !== partition) {
    throw new InputError(
      "console",
      `the role ${roleArn} is in partition ${partition}, but the region ${region} is in ${ofRegion}`,
      { hint: "name a region of the role's partition with --region (or AWS_REGION, the profile's region)" },
    );
  }
  return hosts.partition;
}

/**
 * The console home of `region`: `https://<console domain>/console/home?region=<region>`. One host per
 * partition (the console itself moves the browser to its regional host), so it works for every region,
 * opt-in ones included.
 */
export function defaultDestination(partition: ConsolePartition, region: string): string {
  return `https://${consoleOf(partition)!.host}/console/home?region=${encodeURIComponent(region)}`;
}

/** The partition whose console serves `host` (`console.<domain>` or a subdomain of it), if any. */
function consoleHostPartition(host: string): ConsolePartition | undefined {
  for (const { id, console } of PARTITIONS) {
    if (console === undefined) continue;
    if (
      host === console.host ||
      (host.endsWith(`.${console.host}`) && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host))
    ) {
      return id as ConsolePartition;
    }
  }
  return undefined;
}

/**
 * Validates `--destination`: an https URL (at most {@link MAX_DESTINATION_CHARS} characters, no port, no user
 * info) on a console host of aws, aws-us-gov or aws-cn (`console.aws.amazon.com` or a subdomain such as
 * `eu-west-1.console.aws.amazon.com`). Returns the URL as the parser normalises it. Throws `UsageError`.
 */
export function validateDestination(value: string, what = "--destination"): string {
  return validateUrl(value, what, {
    schemes: ["https"],
    maxChars: MAX_DESTINATION_CHARS,
    // The URL parser would drop or encode them silently: the page opened would not be the one given.
    printable: true,
    noPort: true,
    check: (url) =>
      consoleHostPartition(url.hostname) !== undefined ? undefined : {
        why: `host ${url.hostname} is not an AWS console host`,
        hint: `use a console URL such as ${defaultDestination("aws", "us-east-1")}`,
      },
  }).href;
}

/** Checks that a (validated) destination is a console of the role's partition (exit 2 otherwise). */
export function checkDestinationPartition(destination: string, partition: ConsolePartition): void {
  const host = new URL(destination).hostname;
  const of = consoleHostPartition(host);
  if (of !== partition) {
    throw new InputError(
      "--destination",
      `${host} is a console of partition ${of}, but the role is in ${partition}`,
      { hint: `use a console URL of ${partition}, e.g. ${defaultDestination(partition, "REGION")}` },
    );
  }
}
