/**
 * `credproc serve`'s wiring: the token, the shared in-memory credentials over {@link roleProvider}, the
 * endpoint from lib/serve/server.ts, the export lines and the wait for a signal.
 */
import type { Command } from "./args.ts";
import { ConfigError, CredprocError } from "../errors.ts";
import { fileErrorReason } from "../plan/referenced_files.ts";
import type { Logger } from "../log.ts";
import { escapeControls, outputErrorReason } from "../output.ts";
import { DEFAULT_REFRESH_MARGIN_SECONDS, effectiveMarginMs } from "../cache/store.ts";
import {
  createHandler,
  CREDENTIALS_PATH,
  exportLines,
  listen,
  MAX_TOKEN_FILE_BYTES,
  newToken,
  sharedCredentials,
  tokenFromFile,
  untilSignal,
} from "../serve/server.ts";
import type { CliDeps, CliIo } from "./deps.ts";
import { report } from "./report.ts";
import { roleProvider } from "./role.ts";

/** How long a stop waits for the requests in progress (and a credentials call in flight) to finish. */
const SERVE_GRACE_MS = 2000;

/**
 * `credproc serve`: credentials first (a failure ends the command like `assume`'s), then the endpoint on
 * 127.0.0.1, the export lines on stdout, and requests until SIGINT or SIGTERM (then exit 0). Each call for
 * new credentials plans again (a fresh `--timeout` budget, the shared files as they are now) and goes
 * through the same cache entry and lock as `assume`.
 */
export async function serve(
  command: Extract<Command, { kind: "serve" }>,
  argv: readonly string[],
  io: CliIo,
  deps: CliDeps,
  log: Logger & { readonly toFile: boolean },
): Promise<string> {
  const { options, tokenFile } = command;
  let token: string;
  if (tokenFile === undefined) {
    token = newToken();
  } else {
    let text: string;
    try {
      text = await deps.readFile(tokenFile, MAX_TOKEN_FILE_BYTES);
    } catch (e) {
      throw new ConfigError(`--token-file ${tokenFile}`, fileErrorReason(e), { cause: e });
    }
    token = tokenFromFile(text, tokenFile);
  }
  log.secret(token);
  let calls = 0;
  let includeAccountId = false;
  const fetchCredentials = async () => {
    // --refresh forces the first call only; later ones use the cache like any other caller.
    const cacheMode = calls++ > 0 && options.cacheMode === "refresh" ? "use" : options.cacheMode;
    const { plan, provider } = await roleProvider({ ...options, cacheMode }, argv, io, deps, log, {
      longRunning: true,
    });
    includeAccountId = plan.includeAccountId === true;
    const credentials = await provider();
    if (credentials.sessionToken === undefined || credentials.expiration === undefined) {
      throw new ConfigError(
        "serve",
        "these are long-term keys; a container endpoint serves temporary credentials only",
        { hint: "name a role to assume (--role-arn, or a profile with role_arn)" },
      );
    }
    return credentials;
  };
  const marginMs = (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000;
  const shared = sharedCredentials(
    fetchCredentials,
    deps.clock,
    (lifetimeMs) => effectiveMarginMs(marginMs, lifetimeMs),
  );
  await shared.get();
  const writeErr = (line: string) => io.err(escapeControls(line));
  let port = 0;
  const stop = untilSignal();
  try {
    const server = listen(
      command.port ?? 0,
      createHandler({
        token,
        port: () => port,
        credentials: shared.get,
        includeAccountId,
        timeoutMs: options.timeoutSeconds * 1000 + 1000,
        log: (line) => log.debug(line),
        scrub: log.scrub,
        onFailure: (e) => report(e, log, writeErr),
      }),
    );
    port = server.port;
    log.debug(`serve: listening on http://127.0.0.1:${port}${CREDENTIALS_PATH}`);
    try {
      await io.out(exportLines(port, tokenFile === undefined ? { token } : { tokenFile }));
    } catch (e) {
      await server.stop(0);
      throw new CredprocError("stdout", `cannot write the export lines: ${outputErrorReason(e)}`, 1, {
        cause: e,
      });
    }
    const signal = await Promise.race([stop.signalled, server.finished.then(() => undefined)]);
    log.debug(`serve: ${signal ?? "server ended"}; stopping`);
    await server.stop(SERVE_GRACE_MS);
    await Promise.race([shared.settled(), new Promise((r) => setTimeout(r, SERVE_GRACE_MS))]);
  } finally {
    stop.dispose();
  }
  return "";
}
