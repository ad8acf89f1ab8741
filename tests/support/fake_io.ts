/** A {@link CliIo} over buffers, for running whole commands through `cli()` in process. */
import type { CliIo } from "../../lib/cli/cli.ts";

/** An io whose environment is `env` and whose stdout and stderr are collected in arrays. */
export function fakeIo(env: Record<string, string> = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    getEnv: (name) => env[name],
    cwd: "/nowhere",
    out: (text) => {
      stdout.push(text);
      return Promise.resolve();
    },
    err: (line) => stderr.push(line),
    stdout,
    stderr,
  };
}
