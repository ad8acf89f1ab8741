/**
 * Loads an npm module (the SDK family's) when a call first needs it, through a specifier held in a variable:
 * `deno run` then leaves every npm package out of the start-up module graph and reads a package's registry
 * metadata only when the package is loaded (see lib/npm_modules.ts for why, and for the tools that must be
 * told about these modules instead). The specifier is typed by that list, so a module missing from it — which
 * `deno task setup` would not cache, nor `deno task compile` embed — is a compile error here.
 *
 * A leaf: it imports the list's type only, never the list.
 */
import type { NPM_MODULES } from "./npm_modules.ts";

/** The modules the program may load, by specifier. */
export type NpmModules = { [S in keyof typeof NPM_MODULES]: Awaited<ReturnType<typeof NPM_MODULES[S]>> };
/** A specifier of {@link NpmModules}. */
export type NpmSpecifier = keyof NpmModules;

/** The module `specifier` names (Deno loads it once; later calls get the same module). */
export function importNpm<S extends NpmSpecifier>(specifier: S): Promise<NpmModules[S]> {
  // A parameter, not a literal: see the module's comment.
  return import(specifier);
}
