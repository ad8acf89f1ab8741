/** The `--help` text. */
import { DEFAULT_MFA_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS } from "./args.ts";
import { FORMATS } from "../model.ts";

/** Usage, printed on stdout by `credproc --help`. */
export const USAGE = `credproc — assume an AWS role and print credentials for credential_process

Usage:
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
  credproc cache clear [--cache-dir DIR]     remove credproc's cached credentials
  credproc --help | --version | help

In ~/.aws/config:
  [profile prod]
  credential_process = credproc --role-arn arn:aws:iam::123456789012:role/deploy

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
GetSigninToken at the partition's sign-in endpoint (signin.aws.amazon.com, signin.amazonaws-us-gov.com,
signin.amazonaws.cn; the partition is the role ARN's), then one line on stdout: the sign-in URL. Treat it
as a secret: AWS accepts it once, for 15 minutes, and the console session lasts as long as the credentials.
  --destination URL              the console page to open (https, a console host of the role's partition);
                                 default https://console.aws.amazon.com/console/home?region=REGION

Serve (credproc serve):
  --port N                       listen on 127.0.0.1:N (default: a free port)
  --token-file PATH              the token clients must send, from PATH (the token alone, no newline;
                                 else a random one is printed); clients read it through
                                 AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
  The SDKs and the AWS CLI read the endpoint through AWS_CONTAINER_CREDENTIALS_FULL_URI; credentials come
  from credproc's cache and are refreshed through its lock. -v logs one line per request.

EKS (credproc eks-token): the role's credentials from the cache (or STS), then a token signed locally for
the cluster (a presigned GetCallerIdentity, as "aws eks get-token"); prints an ExecCredential (the version
KUBERNETES_EXEC_INFO asks for: v1beta1 or v1), valid 14 minutes or until the credentials near expiry.
  --cluster-name NAME            the EKS cluster (1-100 of [A-Za-z0-9_-]); --region picks the STS endpoint
  In ~/.kube/config:
    users:
    - name: prod
      user:
        exec:
          apiVersion: client.authentication.k8s.io/v1beta1
          command: credproc
          args: [eks-token, --cluster-name, prod, --profile, prod, --region, eu-west-1]
          interactiveMode: Never

Failures: each failed call is also recorded (last 20, no secrets) in the cache directory's failures.json;
"credproc cache list" shows the newest.

Proxies: HTTPS_PROXY (CONNECT, TLS end to end) for https endpoints, NO_PROXY honoured; plain http is never
sent through a proxy (HTTP_PROXY, ALL_PROXY are ignored); loopback and metadata addresses are always direct.

Exit codes: 0 success; 2 bad input (flags, values, files); 1 anything else.
`;

/** `credproc cache` alone: the cache commands. */
export const CACHE_USAGE = `Usage:
  credproc cache list [--json] [--cache-dir DIR]
      one row per cached entry (role or MFA session, session name, source, region, masked key id, time
      left, whether the next call refreshes it), the directory's state and the recent failures;
      --json prints the same as a stable JSON document (schema 1)
  credproc cache clear [--cache-dir DIR] [-v]
      remove credproc's cached credentials and memos (locks held by a running credproc stay)

The directory: --cache-dir, else CREDPROC_CACHE_DIR, else the platform cache directory.
`;
