/**
 * The network allow list, as data. `deno.json`'s `permissions.default.net` is the enforcing copy; a test keeps
 * this list, that one and the table in docs/sandbox.md identical. Checking a host here lets credproc refuse an
 * `--endpoint-url` outside the list with a clear message before the sandbox would refuse the connection. The
 * hosts of the partitions are the partition table's (lib/partitions.ts), in its order.
 */
import {
  CONSOLE_SIGNIN_HOSTS,
  DNS_SUFFIXES,
  REGION_LABEL,
  SIGNIN_REGION_LABEL,
  SIGNIN_TOKEN_DOMAINS,
} from "./partitions.ts";
import { urlProblem, type UrlRule } from "./validate.ts";

/** Instance metadata (IPv4, IPv6) and container credential endpoints (ECS, EKS Pod Identity v4/v6). */
export const METADATA_HOSTS: readonly string[] = [
  "169.254.169.254",
  "169.254.170.2",
  "169.254.170.23",
  "[fd00:ec2::254]",
  "[fd00:ec2::23]",
];

/** Loopback, for local STS emulators and container agents. */
export const LOOPBACK_HOSTS: readonly string[] = ["127.0.0.0/8", "[::1]", "localhost"];

/** The net allow list exactly as written in deno.json. */
export const NET_ALLOW_LIST: readonly string[] = [
  ...DNS_SUFFIXES.map((s) => `*.${s}`),
  ...CONSOLE_SIGNIN_HOSTS,
  ...SIGNIN_TOKEN_DOMAINS.map((d) => `*.${d}`),
  ...METADATA_HOSTS,
  ...LOOPBACK_HOSTS,
];

/**
 * The hosts always reached directly, never through a proxy — loopback, instance metadata, container
 * endpoints — as `NO_PROXY` spells them (IPv6 without brackets). main.ts adds them to `NO_PROXY`.
 */
export const DIRECT_HOSTS: readonly string[] = [...LOOPBACK_HOSTS, ...METADATA_HOSTS].map((h) =>
  h.replace(/^\[(.*)\]$/, "$1")
);

/** Whether the sandbox lets credproc connect to `hostname` (as `URL.hostname` gives it). */
export function isAllowedHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (DNS_SUFFIXES.some((s) => host === s || host.endsWith(`.${s}`))) return true;
  if (CONSOLE_SIGNIN_HOSTS.includes(host)) return true;
  if (SIGNIN_TOKEN_DOMAINS.some((d) => host.endsWith(`.${d}`))) return true;
  return METADATA_HOSTS.includes(host) || isLoopbackHost(host);
}

const SUFFIXES = DNS_SUFFIXES.map((s) => s.replace(/\./g, "\\.")).join("|");
/**
 * The shapes of the endpoints credproc may be pointed at inside the partitions' DNS suffixes: STS (global,
 * regional, FIPS, dual-stack, VPC interface endpoints), the SSO portal and SSO-OIDC. Other hosts under the
 * same suffixes (EC2 public names, S3 websites, API Gateway…) can be controlled by anyone with an account.
 */
const SERVICE_HOST = new RegExp(
  `^(?:sts\\.(?:${SUFFIXES})` +
    `|(?:sts|sts-fips)\\.${REGION_LABEL}\\.(?:${SUFFIXES})` +
    `|(?:vpce-[a-z0-9-]+\\.)?(?:sts|sts-fips)\\.${REGION_LABEL}\\.vpce\\.(?:${SUFFIXES})` +
    `|portal\\.sso(?:-fips)?\\.${REGION_LABEL}\\.(?:${SUFFIXES})` +
    `|(?:oidc|oidc-fips)\\.${REGION_LABEL}\\.(?:${SUFFIXES}))$`,
);

/** A regional sign-in host that refreshes `aws login` sessions (see {@link SIGNIN_TOKEN_DOMAINS}). */
const SIGNIN_TOKEN_HOST = new RegExp(
  // Region labels with a 2–4 letter head: the EU Sovereign Cloud's are `eusc-de-east-1`.
  `^${SIGNIN_REGION_LABEL}\\.(?:${SIGNIN_TOKEN_DOMAINS.map((d) => d.replace(/\./g, "\\.")).join("|")})$`,
);

/** Plain http or https: loopback stand-ins and container endpoints speak http. */
const HTTP_OR_HTTPS: UrlRule["schemes"] = ["http", "https"];

/** The reason of {@link urlProblem}'s verdict, or undefined when the URL passes. */
function reason(value: string, rule: UrlRule): string | undefined {
  const url = urlProblem(value, rule);
  return url instanceof URL ? undefined : url.why;
}

/**
 * The rule for a URL the user gives credproc to call (`--endpoint-url`): http(s), no user info, and a host
 * inside the allow list. The inner checks below narrow it further once the plan says what the URL is for.
 */
export const ALLOWED_URL: UrlRule = {
  schemes: HTTP_OR_HTTPS,
  check: (url) =>
    isAllowedHost(url.hostname) ? undefined : {
      why: `host ${url.hostname} is outside the allowed endpoints`,
      hint:
        "the sandbox only reaches AWS endpoints (*.amazonaws.com and the other partitions), instance metadata and loopback",
    },
};

/**
 * Why an endpoint URL may not be used, or undefined: http(s) only, no user info, and a host that is an STS /
 * SSO / SSO-OIDC endpoint of a partition, an instance-metadata or container address, or loopback. The
 * permission set in deno.json stays the outer wall; this is the inner, narrower one.
 */
export function endpointProblem(value: string): string | undefined {
  return reason(value, {
    schemes: HTTP_OR_HTTPS,
    check: (url) => {
      const host = url.hostname.toLowerCase().replace(/\.$/, "");
      if (METADATA_HOSTS.includes(host) || isLoopbackHost(host) || SERVICE_HOST.test(host)) return undefined;
      return {
        why: isAllowedHost(host)
          ? `host ${host} is not an STS, SSO or SSO-OIDC endpoint of an AWS partition`
          : `host ${host} is outside the allowed endpoints`,
      };
    },
  });
}

/** Loopback by address or name (`URL.hostname` form, lower case). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "[::1]" ||
    (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split(".").every((n) => Number(n) <= 255));
}

/**
 * Why a sign-in (federation) endpoint URL may not be used, or undefined: `https://<sign-in host>/federation`
 * exactly (one of {@link CONSOLE_SIGNIN_HOSTS}, no port, query or user info), or any http(s) URL on loopback (a local
 * stand-in). The inner check for `credproc console`, as {@link endpointProblem} is for STS.
 */
export function signinEndpointProblem(value: string): string | undefined {
  // No trailing-dot form: the permission set names the hosts without it.
  return signinProblem(value, {
    known: (host) => CONSOLE_SIGNIN_HOSTS.includes(host),
    hosts: `a console sign-in endpoint (${CONSOLE_SIGNIN_HOSTS.join(", ")})`,
    path: "/federation",
  });
}

/**
 * Why an `aws login` token endpoint (`AWS_ENDPOINT_URL_SIGNIN`, or what the SDK's rules give for the token's
 * region) may not be used, or undefined: `https://<region>.signin.<partition domain>` with no port, path, query
 * or user info, or any http(s) URL on loopback (a local stand-in).
 */
export function signinTokenEndpointProblem(value: string): string | undefined {
  return signinProblem(value, {
    known: (host) => SIGNIN_TOKEN_HOST.test(host),
    hosts: `a regional sign-in endpoint (REGION.${SIGNIN_TOKEN_DOMAINS[0]}, …)`,
    path: "/",
  });
}

/**
 * The rule both sign-in endpoints share: any http(s) URL on loopback, else `https://<host><path>` exactly for a
 * `known` host (`hosts` says which), with no port, query or user info.
 */
function signinProblem(
  value: string,
  o: {
    readonly known: (host: string) => boolean;
    readonly hosts: string;
    readonly path: "/" | "/federation";
  },
): string | undefined {
  return reason(value, {
    schemes: HTTP_OR_HTTPS,
    noQuery: true,
    check: (url) => {
      const host = url.hostname;
      if (isLoopbackHost(host)) return undefined;
      if (!o.known(host)) return { why: `host ${host} is not ${o.hosts} nor loopback` };
      if (url.protocol !== "https:" || url.port !== "" || url.pathname !== o.path) {
        return { why: `must be https://${host}${o.path === "/" ? "" : o.path}` };
      }
      return undefined;
    },
  });
}
