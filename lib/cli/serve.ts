/**
 * `credproc serve`'s wiring: the token (generated, or a `--token-file` held to ssh's rule and watched), the
 * shared in-memory credentials over {@link roleProvider}, the endpoint (lib/serve/), the export lines, the
 * one warning when the environment would shadow the endpoint, and the wait for a signal.
 */
import type { Command } from "./args.ts";
import { ConfigError, CredprocError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { outputErrorReason } from "../output.ts";
import { DEFAULT_REFRESH_MARGIN_SECONDS, effectiveMarginMs } from "../cache/store.ts";
import { sharedConfigPaths } from "../plan/shared_config.ts";
import { createEndpoint, CREDENTIALS_PATH, requestLog } from "../serve/handler.ts";
import { exportLines, shadowWarning } from "../serve/exports.ts";
import { listen, untilSignal } from "../serve/listen.ts";
import { sharedCredentials } from "../serve/shared.ts";
import { fixedToken, newToken, readTokenFile, type TokenSource, watchedTokenFile } from "../serve/token.ts";
import type { CliDeps, CliIo, Invocation } from "./deps.ts";
import { report } from "./report.ts";
import { roleProvider, snapshotEnv } from "./role.ts";

/** How long a stop waits for the requests in progress (and a credentials call in flight) to finish. */
const SERVE_GRACE_MS = 2000;

/**
 * `credproc serve`: the token file first (a bad one is exit 2 before anything else), credentials next (a
 * failure ends the command like `assume`'s), then the endpoint on 127.0.0.1, the export lines on stdout, at
 * most one warning on stderr, and requests until SIGINT or SIGTERM (then exit 0). Each call for new
 * credentials plans again (a fresh `--timeout` budget, the shared files as they are now) and goes through the
 * same cache entry and lock as `assume`.
 */
export async function serve(command: Extract<Command, { kind: "serve" }>, inv: Invocation): Promise<string> {
  const { io, deps, log } = inv;
  const { options, tokenFile } = command;
  const token = await serveToken(tokenFile, deps.uid(), log, io.err);
  let calls = 0;
  const fetchCredentials = async () => {
    // --refresh forces the first call only; later ones use the cache like any other caller.
    const cacheMode = calls++ > 0 && options.cacheMode === "refresh" ? "use" : options.cacheMode;
    const { provider } = await roleProvider({ ...options, cacheMode }, inv, { longRunning: true });
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
  try {
    await shared.get();
  } catch (e) {
    token.stop();
    throw e;
  }
  const warning = await shadowLine(io, deps);
  const verbose = options.verbose || log.toFile;
  let port = 0;
  const stop = untilSignal();
  try {
    const server = listen(
      command.port ?? 0,
      createEndpoint({
        token: token.current,
        port: () => port,
        credentials: shared,
        includeAccountId: options.includeAccountId === true,
        timeoutMs: options.timeoutSeconds * 1000 + 1000,
        log: requestLog(verbose, (line) => log.debug(line)),
        scrub: log.scrub,
        onFailure: (e) => report(e, log, io.err),
      }),
      { note: (line) => log.debug(line) },
    );
    port = server.port;
    log.debug(`serve: listening on http://127.0.0.1:${port}${CREDENTIALS_PATH}`);
    try {
      await io.out(
        exportLines(port, tokenFile === undefined ? { token: newTokenShown(token) } : { tokenFile }),
      );
    } catch (e) {
      await server.stop(0);
      throw new CredprocError("stdout", `cannot write the export lines: ${outputErrorReason(e)}`, 1, {
        cause: e,
      });
    }
    if (warning !== undefined) io.err(warning);
    const signal = await Promise.race([stop.signalled, server.finished.then(() => undefined)]);
    if (signal === undefined) {
      await server.stop(SERVE_GRACE_MS);
      throw new CredprocError("serve", "the listening socket was closed; no more requests can arrive", 1);
    }
    log.debug(`serve: ${signal}; stopping`);
    await server.stop(SERVE_GRACE_MS);
    await Promise.race([shared.settled(), new Promise((r) => setTimeout(r, SERVE_GRACE_MS))]);
  } finally {
    stop.dispose();
    token.stop();
  }
  return "";
}

/** The generated token (only a fixed token is ever printed). */
function newTokenShown(token: TokenSource): string {
  const state = token.current();
  if (!("token" in state)) throw new Error("unreachable: a generated token has no file");
  return state.token;
}

/**
 * The token: 32 random bytes, or `--token-file`'s, refused (exit 2) unless it is this user's, private and
 * well formed, then looked at every second: a rotated token takes over, and a file that goes bad refuses
 * every request until it is right (said once on stderr each way).
 */
async function serveToken(
  tokenFile: string | undefined,
  uid: number | null,
  log: Logger,
  writeErr: (line: string) => void,
): Promise<TokenSource> {
  if (tokenFile === undefined) {
    const token = newToken();
    log.secret(token);
    return fixedToken(token);
  }
  const first = await readTokenFile(tokenFile, uid);
  log.secret(first.token);
  return watchedTokenFile(tokenFile, uid, first, (state) => {
    if ("token" in state) {
      log.secret(state.token);
      log.debug(`serve: --token-file ${tokenFile}: a new token is in force`);
    } else {
      writeErr(`credproc: serve: every request is refused until the token file is right: ${state.problem}`);
    }
  });
}

/** The warning line when the environment or the profile in force would shadow the endpoint (see exports.ts). */
async function shadowLine(io: CliIo, deps: CliDeps): Promise<string | undefined> {
  try {
    const env = snapshotEnv(io, []);
    const files = await deps.loadSharedConfig(sharedConfigPaths(env, deps.homeDir()));
    return shadowWarning(env, files);
  } catch {
    return undefined; // the files were read for the credentials already; a later failure only costs the warning
  }
}
