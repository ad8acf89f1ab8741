/**
 * Every npm module the program may load, each as a literal import in a function that nothing calls: the list
 * the tools read that must see them — `deno task setup` (`deno install --entrypoint`, so a machine whose Deno
 * cache was filled once runs offline) and `deno task compile` (`--include`, so the binary embeds them) — and
 * the type of each module for lib/npm.ts, which loads them at run time through a specifier held in a variable.
 *
 * Never imported at run time (lib/npm.ts imports only its type): a literal npm specifier anywhere in the
 * program's module graph makes `deno run` read every named package's registry metadata at start-up (about
 * 2.7 MB here, 3–4 ms of a cold call and 5–7 MiB) and delays the exit (docs/benchmarks.md, "Where the time
 * goes"). tests/unit/npm_test.ts keeps this list, deno.json's imports and lib/'s imports in step.
 */
export const NPM_MODULES = {
  "@aws-sdk/client-sts": () => import("@aws-sdk/client-sts"),
  "@aws-sdk/credential-provider-env": () => import("@aws-sdk/credential-provider-env"),
  "@aws-sdk/credential-provider-login": () => import("@aws-sdk/credential-provider-login"),
  "@aws-sdk/credential-provider-node": () => import("@aws-sdk/credential-provider-node"),
  "@aws-sdk/credential-provider-sso": () => import("@aws-sdk/credential-provider-sso"),
  "@aws-sdk/nested-clients/signin": () => import("@aws-sdk/nested-clients/signin"),
  "@smithy/core/checksum": () => import("@smithy/core/checksum"),
  "@smithy/core/protocols": () => import("@smithy/core/protocols"),
  "@smithy/credential-provider-imds": () => import("@smithy/credential-provider-imds"),
  "@smithy/fetch-http-handler": () => import("@smithy/fetch-http-handler"),
  "@smithy/shared-ini-file-loader": () => import("@smithy/shared-ini-file-loader"),
  "@smithy/signature-v4": () => import("@smithy/signature-v4"),
} as const;
