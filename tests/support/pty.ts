/** A real pseudo-terminal for tests (util-linux `script`): what a person at a terminal sees and types. */

export interface PtyResult {
  code: number;
  /** Everything the terminal showed. */
  transcript: string;
  ms: number;
}

/**
 * Runs the shell line `command` on a new pseudo-terminal (`script -q -e -c`), typing `answer` once `waitFor`
 * appears on the terminal. The terminal is the command's controlling terminal and its stdin/stdout/stderr
 * unless `command` redirects them. Killed after `timeoutMs`.
 */
export async function inPty(
  command: string,
  env: Record<string, string>,
  opts: { waitFor?: string; answer?: string; timeoutMs?: number } = {},
): Promise<PtyResult> {
  const started = performance.now();
  const child = new Deno.Command("script", {
    args: ["-q", "-e", "-c", command, "/dev/null"],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const writer = child.stdin.getWriter();
  let transcript = "";
  let answered = false;
  const decoder = new TextDecoder();
  const errors = new Response(child.stderr).text();
  for await (const chunk of child.stdout) {
    transcript += decoder.decode(chunk, { stream: true });
    if (!answered && opts.waitFor !== undefined && transcript.includes(opts.waitFor)) {
      answered = true;
      await writer.write(new TextEncoder().encode(opts.answer ?? ""));
    }
  }
  const status = await child.status;
  clearTimeout(killer);
  await writer.close().catch(() => {});
  transcript += await errors;
  return { code: status.code, transcript: transcript.replaceAll("\r", ""), ms: performance.now() - started };
}

/** A file's text, or "" when it cannot be read. */
export async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}
