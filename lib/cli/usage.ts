/**
 * The usage texts: the whole `--help` page, each command's own (`credproc serve --help`), and the short usage
 * bare `credproc` prints. Each part is written once and shared by the pages that show it.
 */
import { DEFAULT_MFA_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS, type HelpTopic } from "./args.ts";
import { FORMATS, unhandled } from "../model.ts";

const TITLE = "credproc — assume an AWS role and print credentials for credential_process\n";

/** The commands, one line each. */
const COMMANDS = `Usage:
  credproc --role-arn ARN [options]          assume a role (repeat --role-arn to chain roles)
  credproc --profile NAME [options]          assume the role a shared-config profile describes
  credproc console [role options] [--destination URL]
                                             print a console sign-in URL for the role (no browser opened)
  credproc serve [role options] [--port N] [--token-file PATH]
                                             serve the role's credentials to containers and SDKs on
                                             127.0.0.1 (prints the export lines; runs until Ctrl-C)
  credproc eks-token --cluster-name NAME [role options]
                                             a kubectl exec credential (EKS token) signed with the role
  credproc cache list [--json] [--cache-dir DIR]
                                             what is cached, for how long, and the recent failures
  credproc cache clear [--cache-dir DIR]     remove credproc's cached credentials and failure record
  credproc --help | --version | help [COMMAND]
`;

/**
 * The profile that runs credproc, in the one form that works both with `aws --profile prod` and with
 * `AWS_PROFILE=prod` (which the AWS tools pass down to credproc): `--profile` names the source.
 */
const CONFIG_EXAMPLE =
  `In ~/.aws/config (--profile names the profile with your own credentials: the AWS tools pass AWS_PROFILE
down to credproc, and prod itself cannot be credproc's source):
  [profile prod]
  credential_process = credproc --profile default --role-arn arn:aws:iam::123456789012:role/deploy
`;

/** `credproc console`'s own options and what it does. */
const CONSOLE =
  `GetSigninToken at the partition's sign-in endpoint (signin.aws.amazon.com, signin.amazonaws-us-gov.com,
signin.amazonaws.cn; the partition is the role ARN's), then one line on stdout: the sign-in URL. Treat it
as a secret: AWS accepts it once, for 15 minutes, and the console session lasts as long as the credentials.
  --destination URL              the console page to open (https, a console host of the role's partition);
                                 default https://console.aws.amazon.com/console/home?region=REGION
`;

/** `credproc serve`'s own options and what it does. */
const SERVE = `  --port N                       listen on 127.0.0.1:N (default: a free port)
  --token-file PATH              the token clients must send, from PATH (the token alone, no newline;
                                 else a random one is printed); clients read it through
                                 AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
  The SDKs and the AWS CLI read the endpoint through AWS_CONTAINER_CREDENTIALS_FULL_URI; credentials come
  from credproc's cache and are refreshed through its lock. -v logs one line per request.
`;

/** `credproc eks-token`'s own options, what it does, and the kubeconfig entry that runs it. */
const EKS = `the role's credentials from the cache (or STS), then a token signed locally for
the cluster (a presigned GetCallerIdentity, as "aws eks get-token"); prints an ExecCredential (the version
KUBERNETES_EXEC_INFO asks for: v1beta1 or v1), valid 14 minutes or until the credentials near expiry. The
token is cached too (reused while 5 minutes are left): a repeated call costs a cache hit. Without a role
(--profile P with keys, SSO or aws login), the token is signed with P's own credentials.
  --cluster-name NAME            the EKS cluster (1-100 of [A-Za-z0-9_-]); --region picks the STS endpoint
  In ~/.kube/config:
    users:
    - name: prod
      user:
        exec:
          apiVersion: client.authentication.k8s.io/v1beta1
          command: credproc
          args: [eks-token, --cluster-name, prod, --profile, default, --role-arn, arn:aws:iam::123456789012:role/deploy, --region, eu-west-1]
          interactiveMode: Never
`;

/** What `cache list` shows. */
const CACHE_LIST = `  credproc cache list [--json] [--cache-dir DIR]
      one row per cached entry (role, MFA session or EKS token, session name, source, region, masked key
      id, time left, whether the next call refreshes it), the directory's state and the recent failures;
      --json prints the same as a stable JSON document (schema 1)
`;

/** What `cache clear` removes. */
const CACHE_CLEAR = `  credproc cache clear [--cache-dir DIR] [-v]
      remove credproc's cached credentials, memos and failure record (failures.json); locks held by a
      running credproc stay; -v names each file removed
`;

const CACHE_DIR = "The directory: --cache-dir, else CREDPROC_CACHE_DIR, else the platform cache directory.\n";

/** Where a command's own page sends the reader for the options it shares with plain credproc. */
const ROLE_OPTIONS =
  "Role options (--role-arn, --profile, --region, --cache-dir, -v, …): as for credproc; all: credproc --help\n";

/** The role the examples of the command pages assume, as the config example names it. */
const EXAMPLE_ROLE = "--profile default --role-arn arn:aws:iam::123456789012:role/deploy";

/** Usage, printed on stdout by `credproc --help`. */
export const USAGE = `${TITLE}
${COMMANDS}
${CONFIG_EXAMPLE}
Role (flag names follow "aws sts assume-role"):
  --role-arn ARN                 IAM role to assume; repeat to chain (each hop uses the previous one)
  --role-session-name NAME       2-64 of [A-Za-z0-9+=,.@_-] (default credproc-<unix seconds>)
  --duration-seconds N           900-43200 (chained hops: at most 3600)
  --external-id ID               first hop only
  --source-identity ID           first hop only
  --policy JSON | --policy-file PATH
                                 session policy for the last hop (max 2048 chars without whitespace)
  --policy-arn ARN               managed session policy for the last hop (repeatable, max 10)
  --tag KEY=VALUE                session tag on the first hop (repeatable, max 50)
  --transitive-tag-key KEY       make a --tag transitive (repeatable)

Source credentials:
  --profile NAME                 role settings and source from the shared config files; flags override
                                 (default source: the AWS SDK's default chain)
  --web-identity-token-file PATH AssumeRoleWithWebIdentity with an OIDC token from a file
  --web-identity-token-env NAME  ... or from an environment variable named AWS_* or CREDPROC_*

MFA:
  --serial-number ARN            MFA device (first hop, or the profile's mfa_serial)
  --token-code CODE              6 digits; else $CREDPROC_MFA_TOKEN_CODE; else asked on the terminal
  --mfa-timeout SECONDS          how long the terminal prompt waits (default ${DEFAULT_MFA_TIMEOUT_SECONDS})
  --mfa-session                  one GetSessionToken with MFA, cached; roles are assumed with it
  --mfa-session-duration N       900-129600 seconds (default 43200)

Endpoint:
  --region REGION                else AWS_REGION, AWS_DEFAULT_REGION, the profile's region, us-east-1
  --endpoint-url URL             STS endpoint (an STS host of an AWS partition, or loopback); else, as in the
                                 AWS CLI: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's [services]
                                 sts endpoint_url, its endpoint_url (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true:
                                 none of these), else the SDK's endpoint for the region
  --timeout SECONDS              the longest all network steps together may take: source credentials (SSO,
                                 container, instance metadata) and every STS call, retries included
                                 (default ${DEFAULT_TIMEOUT_SECONDS}); an MFA prompt does not count

Cache:
  --cache-dir DIR                else CREDPROC_CACHE_DIR, else the platform cache directory
  --no-cache                     neither read nor write the cache
  --refresh                      ignore a cached entry, call STS, rewrite the entry
  --refresh-margin SECONDS       reuse cached credentials only while more than this remains (default 900)

Output:
  --format FORMAT                ${FORMATS.join("|")} (default process)
  --include-account-id           add the role's account: "AccountId" (last key) or AWS_ACCOUNT_ID
  -v, --verbose                  diagnostics on stderr (key ids masked, never a secret): endpoint, proxy,
                                 cache decisions; without it stderr is empty on success
  --log-file PATH                append the --verbose lines, timestamped, to PATH (else $CREDPROC_LOG_FILE);
                                 for SDKs that hide credential_process's stderr

Console (credproc console): the same role options and cache as above (a cached role makes no STS call);
${CONSOLE}
Serve (credproc serve):
${SERVE}

EKS (credproc eks-token): the same role options and cache as above;
${EKS}
Failures: each failed call is also recorded (last 20, no secrets) in the cache directory's failures.json;
"credproc cache list" shows the newest.

Proxies: HTTPS_PROXY (CONNECT, TLS end to end) for https endpoints, NO_PROXY honoured; plain http is never
sent through a proxy (HTTP_PROXY, ALL_PROXY are ignored); loopback and metadata addresses are always direct.

Exit codes: 0 success; 2 bad input (flags, values, files); 1 anything else.
Each command's own usage: credproc console --help (or serve, eks-token, cache, cache list, cache clear).
`;

/**
 * What bare `credproc` prints, on stderr with exit 2: stdout carries only credentials (a consumer that runs
 * a bare line must never read text as them), and no arguments at all is a first try, not a request.
 */
export const SHORT_USAGE = `${TITLE}
${COMMANDS}
${CONFIG_EXAMPLE}
Every option: credproc --help. One command's: credproc console --help (or serve, eks-token, cache list, cache clear).
`;

/** `credproc console --help`. */
export const CONSOLE_USAGE = `Usage: credproc console [role options] [--destination URL]

Prints a sign-in URL for the AWS console as the role (no browser is opened). The same role options and
cache as credproc (a cached role makes no STS call); then
${CONSOLE}
${ROLE_OPTIONS}
Example: credproc console ${EXAMPLE_ROLE}
`;

/** `credproc serve --help`. */
export const SERVE_USAGE = `Usage: credproc serve [role options] [--port N] [--token-file PATH]

Serves the role's credentials to containers and SDKs on 127.0.0.1, the way ECS does: prints two export
lines (the endpoint's URL and the token) and runs until Ctrl-C.
${SERVE}
${ROLE_OPTIONS}
Example: credproc serve ${EXAMPLE_ROLE} --port 9911
`;

/** `credproc eks-token --help`. */
export const EKS_USAGE = `Usage: credproc eks-token --cluster-name NAME [role options]

For kubectl's exec plugin: ${EKS}
${ROLE_OPTIONS}`;

/** `credproc cache --help`, and `credproc cache` alone: the cache commands. */
export const CACHE_USAGE = `Usage:
${CACHE_LIST}${CACHE_CLEAR}
${CACHE_DIR}`;

/** `credproc cache list --help`. */
export const CACHE_LIST_USAGE = `Usage:
${CACHE_LIST}
${CACHE_DIR}`;

/** `credproc cache clear --help`. */
export const CACHE_CLEAR_USAGE = `Usage:
${CACHE_CLEAR}
${CACHE_DIR}`;

/** The page `--help` prints for a command (or the whole page). */
export function usageFor(topic: HelpTopic | undefined): string {
  switch (topic) {
    case undefined:
      return USAGE;
    case "console":
      return CONSOLE_USAGE;
    case "serve":
      return SERVE_USAGE;
    case "eks-token":
      return EKS_USAGE;
    case "cache":
      return CACHE_USAGE;
    case "cache list":
      return CACHE_LIST_USAGE;
    case "cache clear":
      return CACHE_CLEAR_USAGE;
    default:
      return unhandled(topic, "help topic");
  }
}
