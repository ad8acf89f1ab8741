/**
 * The npm modules the program loads (lib/npm.ts, through a specifier in a variable) and their list
 * (lib/npm_modules.ts, which `deno task setup` and `deno task compile` are given): the list names exactly what
 * lib/ loads, each package is pinned by deno.json's imports, each specifier loads, and no module of lib/ but the
 * list names an npm package in a literal import (which `deno run` would resolve at start-up).
 */
import assert from "node:assert/strict";
import { NPM_MODULES } from "../../lib/npm_modules.ts";
import { importNpm, type NpmSpecifier } from "../../lib/npm.ts";
import { filesUnder, ROOT } from "../support/helpers.ts";

const SPECIFIERS = Object.keys(NPM_MODULES) as NpmSpecifier[];

/** The package a specifier names (`@smithy/core/checksum` → `@smithy/core`). */
function packageOf(specifier: string): string {
  return specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
}

/** lib/'s TypeScript sources but the list itself, by path. */
async function libSources(): Promise<Map<string, string>> {
  const all = await filesUnder(`${ROOT}lib`);
  return new Map([...all].filter(([p]) => p.endsWith(".ts") && !p.endsWith("/lib/npm_modules.ts")));
}

Deno.test("npm modules: each package of the list is pinned by deno.json's imports (and so by deno.lock)", async () => {
  const imports = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).imports as Record<string, string>;
  for (const s of SPECIFIERS) {
    const pkg = packageOf(s);
    assert.match(imports[pkg] ?? "", new RegExp(`^npm:${pkg.replace("/", "\\/")}@\\d+\\.\\d+\\.\\d+$`), s);
  }
});

Deno.test("npm modules: the list names exactly what lib/ loads", async () => {
  const text = [...(await libSources()).values()].join("\n");
  const used = new Set([...text.matchAll(/importNpm\("([^"]+)"\)/g)].map((m) => m[1]));
  assert.deepEqual([...used].sort(), [...SPECIFIERS].sort());
});

Deno.test("npm modules: no module of lib/ but the list names an npm package in a literal import", async () => {
  const literal = /\bimport\s*\(\s*["'`](?:npm:|@)|\bfrom\s+["'](?:npm:|@)|^\s*import\s+["'](?:npm:|@)/m;
  const found = [...(await libSources())].filter(([, t]) => literal.test(t)).map(([p]) =>
    p.slice(ROOT.length)
  );
  assert.deepEqual(found, []);
  // The check above can fail: the list itself is made of such imports.
  assert.match(await Deno.readTextFile(`${ROOT}lib/npm_modules.ts`), literal);
});

Deno.test("npm modules: each specifier loads through importNpm, as its literal import does", async () => {
  for (const s of SPECIFIERS) {
    const viaVariable = await importNpm(s);
    const literal = await NPM_MODULES[s]();
    assert.ok(Object.keys(viaVariable).length > 0, s);
    // One module instance: the same exports, by identity.
    for (const k of Object.keys(literal)) {
      assert.equal(viaVariable[k as never], literal[k as never], `${s}: ${k}`);
    }
  }
});
