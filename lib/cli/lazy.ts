/**
 * What only some commands load, loaded by the command that needs it — `serve`, `console`, `eks-token`, the
 * cache commands, the help pages, a log file, the failure record of a call that failed — through a specifier
 * held in a variable, as main.ts loads the full program: `deno run` prepares the graph of every literal import
 * (dynamic ones included) at start-up, so these 17 modules stay out of every other call's start-up (an `assume`
 * loads 50 of lib/'s modules instead of 67; about 0.2 ms each — docs/benchmarks.md).
 *
 * `deno compile` cannot see these imports either: scripts/compile.ts includes each module of
 * {@link LAZY_MODULES}. tests/unit/cli_lazy_test.ts checks that each name loads the module its type says, and
 * that the full program's start-up graph holds none of them.
 */

/** Each lazily loaded module, by name: its specifier, relative to this module. */
export const LAZY_MODULES = {
  serve: "./serve.ts",
  eksToken: "./eks_token.ts",
  console: "../console/sign_in.ts",
  cacheList: "../cache/list.ts",
  cacheClear: "../cache/clear.ts",
  failureRecord: "../cache/failures.ts",
  usage: "./usage.ts",
  logFile: "./log_file.ts",
} as const;

/** The type of each module of {@link LAZY_MODULES} (type-only: nothing is loaded by naming it here). */
export interface LazyModules {
  readonly serve: typeof import("./serve.ts");
  readonly eksToken: typeof import("./eks_token.ts");
  readonly console: typeof import("../console/sign_in.ts");
  readonly cacheList: typeof import("../cache/list.ts");
  readonly cacheClear: typeof import("../cache/clear.ts");
  readonly failureRecord: typeof import("../cache/failures.ts");
  readonly usage: typeof import("./usage.ts");
  readonly logFile: typeof import("./log_file.ts");
}

/** The module `name` names, loaded on first use (Deno loads it once). */
export function lazy<K extends keyof LazyModules & keyof typeof LAZY_MODULES>(
  name: K,
): Promise<LazyModules[K]> {
  // Not a literal: see the module's comment.
  const specifier: string = LAZY_MODULES[name];
  return import(specifier);
}
