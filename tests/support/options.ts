/** Input for the planner and the providers in unit tests: a command line run through the real flag parser. */
import assert from "node:assert/strict";
import { parseCommand } from "../../lib/cli/args.ts";
import type { AssumeOptions } from "../../lib/model.ts";

/** The options of the `assume` command `args` parse to; fails the test if they parse to another command. */
export function assumeOptions(...args: string[]): AssumeOptions {
  const command = parseCommand(args);
  assert.equal(command.kind, "assume");
  return (command as { options: AssumeOptions }).options;
}
