/**
 * The AWS partitions, once: each one's name (the ARN's second field), how its regions are named, its DNS
 * suffixes, and its console and sign-in hosts. The sandbox's allow list (lib/sandbox.ts, and so deno.json),
 * `credproc console`, the `aws login` refresh and the ARN and region shapes in lib/validate.ts read them from
 * here. Pure data and pure functions; imports nothing.
 *
 * The DNS suffixes are the SDK's partition table (`dnsSuffix`, `dualStackDnsSuffix`); the sign-in token
 * domains are what the SDK's Signin endpoint rules give (tests/unit/partitions_test.ts and
 * tests/unit/login_test.ts run both sets of rules for a region of every partition).
 */

/** The partitions credproc knows. */
export type PartitionId =
  | "aws"
  | "aws-us-gov"
  | "aws-cn"
  | "aws-eusc"
  | "aws-iso"
  | "aws-iso-b"
  | "aws-iso-e"
  | "aws-iso-f";

/** The console of a partition that has one: where the browser lands, and the federation (sign-in) host. */
export interface ConsoleHosts {
  /** The console's domain (`console.aws.amazon.com`; regional consoles are subdomains of it). */
  readonly host: string;
  /** The federation endpoint's host (`https://<host>/federation`). */
  readonly signinHost: string;
}

/** One partition. */
export interface Partition {
  readonly id: PartitionId;
  /** Its name in words (the permission table of docs/sandbox.md). */
  readonly name: string;
  /** What its region names start with (`cn-`); none for `aws`, the partition of every other region name. */
  readonly regionPrefix?: string;
  /** Service host names end with this (`sts.REGION.<dnsSuffix>`). */
  readonly dnsSuffix: string;
  /** Dual-stack service host names end with this. */
  readonly dualStackDnsSuffix: string;
  /** Its console, for `credproc console`; only aws, aws-us-gov and aws-cn have one credproc knows. */
  readonly console?: ConsoleHosts;
  /** Where `aws login` sessions are refreshed: `https://REGION.<signinTokenDomain>/v1/token`. */
  readonly signinTokenDomain: string;
}

/**
 * The partition table. Its order is the order of the sandbox's allow list (deno.json's `net`): the partitions
 * with a console first, as the console hosts are listed.
 */
export const PARTITIONS: readonly Partition[] = [
  {
    id: "aws",
    name: "commercial",
    dnsSuffix: "amazonaws.com",
    dualStackDnsSuffix: "api.aws",
    console: { host: "console.aws.amazon.com", signinHost: "signin.aws.amazon.com" },
    signinTokenDomain: "signin.aws.amazon.com",
  },
  {
    id: "aws-us-gov",
    name: "AWS GovCloud (US)",
    regionPrefix: "us-gov-",
    dnsSuffix: "amazonaws.com",
    dualStackDnsSuffix: "api.aws",
    console: { host: "console.amazonaws-us-gov.com", signinHost: "signin.amazonaws-us-gov.com" },
    signinTokenDomain: "signin.amazonaws-us-gov.com",
  },
  {
    id: "aws-cn",
    name: "China",
    regionPrefix: "cn-",
    dnsSuffix: "amazonaws.com.cn",
    dualStackDnsSuffix: "api.amazonwebservices.com.cn",
    console: { host: "console.amazonaws.cn", signinHost: "signin.amazonaws.cn" },
    signinTokenDomain: "signin.amazonaws.cn",
  },
  {
    id: "aws-eusc",
    name: "European Sovereign Cloud",
    regionPrefix: "eusc-",
    dnsSuffix: "amazonaws.eu",
    dualStackDnsSuffix: "api.amazonwebservices.eu",
    signinTokenDomain: "signin.amazonaws-eusc.eu",
  },
  {
    id: "aws-iso",
    name: "ISO",
    regionPrefix: "us-iso-",
    dnsSuffix: "c2s.ic.gov",
    dualStackDnsSuffix: "api.aws.ic.gov",
    signinTokenDomain: "signin.c2shome.ic.gov",
  },
  {
    id: "aws-iso-b",
    name: "ISO-B",
    regionPrefix: "us-isob-",
    dnsSuffix: "sc2s.sgov.gov",
    dualStackDnsSuffix: "api.aws.scloud",
    signinTokenDomain: "signin.sc2shome.sgov.gov",
  },
  {
    id: "aws-iso-e",
    name: "ISO-E",
    regionPrefix: "eu-isoe-",
    dnsSuffix: "cloud.adc-e.uk",
    dualStackDnsSuffix: "api.cloud-aws.adc-e.uk",
    signinTokenDomain: "signin.csphome.adc-e.uk",
  },
  {
    id: "aws-iso-f",
    name: "ISO-F",
    regionPrefix: "us-isof-",
    dnsSuffix: "csp.hci.ic.gov",
    dualStackDnsSuffix: "api.aws.hci.ic.gov",
    signinTokenDomain: "signin.csphome.hci.ic.gov",
  },
];

/** The partitions with a console credproc can sign in to. */
export type ConsolePartition = "aws" | "aws-us-gov" | "aws-cn";

/**
 * A partition's name as it appears in an ARN (`arn:<partition>:…`): `aws` and `aws-` names, known or not (a
 * partition added after this release still passes the shape checks; only the console needs to know it).
 */
export const PARTITION_NAME = "aws(?:-[a-z]+)*";

/**
 * A region label as it appears in STS, SSO and console host names and in `--region`: a two-letter head
 * (`us-east-1`, `cn-north-1`, `eu-isoe-west-1`).
 */
export const REGION_LABEL = "[a-z]{2}(?:-[a-z]+)+-\\d{1,2}";

/**
 * A sign-in region, as an `aws login` token names it and its refresh host carries it: a head of two to four
 * letters (the European Sovereign Cloud's are `eusc-de-east-1`).
 */
export const SIGNIN_REGION_LABEL = "[a-z]{2,4}(?:-[a-z]+)+-\\d{1,2}";

/** The partition of an ARN (`arn:<partition>:…`), as written; "" when there is none. */
export function arnPartition(arn: string): string {
  return arn.split(":")[1] ?? "";
}

/** The partition a region belongs to, from its name (the prefixes of the SDK's partition table); `aws` else. */
export function regionPartition(region: string): PartitionId {
  return PARTITIONS.find((p) => p.regionPrefix !== undefined && region.startsWith(p.regionPrefix))?.id ??
    "aws";
}

/** The partition named `id`, if credproc knows it. */
export function partitionById(id: string): Partition | undefined {
  return PARTITIONS.find((p) => p.id === id);
}

/** The console hosts of `id`, if it is a partition with a console. */
export function consoleOf(id: string): (ConsoleHosts & { readonly partition: ConsolePartition }) | undefined {
  const p = partitionById(id);
  return p?.console === undefined ? undefined : { ...p.console, partition: p.id as ConsolePartition };
}

/** Each value once, in first-seen order. */
function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Every partition's DNS suffixes: the `dnsSuffix` of each, then the `dualStackDnsSuffix` of each. */
export const DNS_SUFFIXES: readonly string[] = unique([
  ...PARTITIONS.map((p) => p.dnsSuffix),
  ...PARTITIONS.map((p) => p.dualStackDnsSuffix),
]);

/** The console federation hosts, one per partition with a console. */
export const CONSOLE_SIGNIN_HOSTS: readonly string[] = PARTITIONS.flatMap((p) =>
  p.console === undefined ? [] : [p.console.signinHost]
);

/** The `aws login` refresh domains, one per partition (`REGION.<domain>` are the hosts). */
export const SIGNIN_TOKEN_DOMAINS: readonly string[] = PARTITIONS.map((p) => p.signinTokenDomain);
