/**
 * What only some commands load (lib/cli/lazy.ts): each name loads the module its type says, and none of them
 * — nor what only they import — is in the full program's start-up graph.
 */
import assert from "node:assert/strict";
import { lazy, LAZY_MODULES, type LazyModules } from "../../lib/cli/lazy.ts";
import { startupModules } from "../support/helpers.ts";

/** The literal import each name must load (the test's own list, against the module's). */
const LITERAL: { readonly [K in keyof LazyModules]: () => Promise<LazyModules[K]> } = {
  serve: () => import("../../lib/cli/serve.ts"),
  eksToken: () => import("../../lib/cli/eks_token.ts"),
  console: () => import("../../lib/console/sign_in.ts"),
  cacheList: () => import("../../lib/cache/list.ts"),
  cacheClear: () => import("../../lib/cache/clear.ts"),
  failureRecord: () => import("../../lib/cache/failures.ts"),
  usage: () => import("../../lib/cli/usage.ts"),
  logFile: () => import("../../lib/cli/log_file.ts"),
};

Deno.test("lazy: each name loads the module its type names (the same module instance as a literal import)", async () => {
  assert.deepEqual(Object.keys(LAZY_MODULES).sort(), Object.keys(LITERAL).sort());
  for (const name of Object.keys(LITERAL) as (keyof LazyModules)[]) {
    const loaded = await lazy(name) as unknown as Record<string, unknown>;
    const literal = await LITERAL[name]() as unknown as Record<string, unknown>;
    assert.deepEqual(Object.keys(loaded).sort(), Object.keys(literal).sort(), name);
    for (const k of Object.keys(literal)) assert.equal(loaded[k], literal[k], `${name}: ${k}`);
  }
});

Deno.test("lazy: the full program's start-up graph holds none of them, nor what only they import", async () => {
  const graph = await startupModules("lib/cli/cli.ts", { dynamic: true });
  const lazyPaths = Object.values(LAZY_MODULES).map((s) => new URL(s, "file:///lib/cli/").pathname.slice(1));
  assert.deepEqual(graph.filter((m) => lazyPaths.includes(m)), []);
  const only = [/^lib\/serve\//, /^lib\/eks\//, /^lib\/console\/(sign_in|federation)\.ts$/];
  assert.deepEqual(graph.filter((m) => only.some((r) => r.test(m))), []);
  // The control: the graph is the full program's (the role command's modules are in it).
  for (const m of ["lib/cli/cli.ts", "lib/cli/role.ts", "lib/cli/args.ts", "lib/cli/lazy.ts"]) {
    assert.ok(graph.includes(m), m);
  }
});
