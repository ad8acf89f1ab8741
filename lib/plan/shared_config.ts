/**
 * Loads the shared config and credentials files with the SDK family's own loader
 * (`@smithy/shared-ini-file-loader`, which re-exports `@smithy/core/config`), so credproc reads them exactly as
 * the SDK does. The loader costs ~35 ms to import, so it is imported only when one of the files exists; the
 * files' paths come from the environment snapshot `lib/cli/role.ts` takes, like everything else.
 */
import { importNpm } from "../npm.ts";
import { ConfigError } from "../errors.ts";
import {
  fileErrorReason,
  FileTooLargeError,
  MAX_CONFIG_FILE_BYTES,
  NotRegularFileError,
} from "./referenced_files.ts";
import { type Env, isNullDevice } from "../model.ts";
import { hex } from "../output.ts";

/** One section's settings (`key = value`), as the SDK's loader returns them. */
export type ProfileSettings = Readonly<Record<string, string | undefined>>;

/**
 * The shared files as `@smithy/shared-ini-file-loader` loads them: config-file `[profile x]` and `[default]`
 * sections appear as `x` and `default`, `[sso-session s]` as `sso-session.s`; credentials-file sections by name.
 */
export interface SharedConfig {
  readonly configFile: Readonly<Record<string, ProfileSettings>>;
  readonly credentialsFile: Readonly<Record<string, ProfileSettings>>;
  /** Where the files are (they may not exist), for messages. */
  readonly configPath: string;
  readonly credentialsPath: string;
  /** The home directory the paths were found from (the SSO token cache is under it). */
  readonly home?: string;
}

/** A config with no profiles (no files), for callers and tests that have none. */
export function emptySharedConfig(
  configPath = "~/.aws/config",
  credentialsPath = "~/.aws/credentials",
): SharedConfig {
  return { configFile: {}, credentialsFile: {}, configPath, credentialsPath };
}

/** A profile's settings with the credentials file's values winning over the config file's, as in the SDK. */
export function getProfile(config: SharedConfig, name: string): ProfileSettings | undefined {
  const fromConfig = Object.hasOwn(config.configFile, name) ? config.configFile[name] : undefined;
  const fromCredentials = Object.hasOwn(config.credentialsFile, name)
    ? config.credentialsFile[name]
    : undefined;
  if (fromConfig === undefined && fromCredentials === undefined) return undefined;
  return { ...fromConfig, ...fromCredentials };
}

/** Where the two files are, and the home directory they were found from (none: `~/` paths stay as given). */
export interface SharedConfigPaths {
  readonly configPath: string;
  readonly credentialsPath: string;
  /** The home directory, as the SDK finds it (the SSO token cache is under it). */
  readonly home?: string;
}

/**
 * `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` / `~/.aws/credentials`, with the
 * home directory from HOME, USERPROFILE or HOMEDRIVE+HOMEPATH (the SDK's order), else `fallbackHome` (the
 * account's home from the OS, as the SDK's `os.homedir()` and botocore's `expanduser` find it when HOME is
 * unset); `~/` is expanded. Without any home, a `~/` path stays as it is and names no file.
 */
export function sharedConfigPaths(env: Env, fallbackHome?: string): SharedConfigPaths {
  const home = env.HOME || env.USERPROFILE ||
    (env.HOMEPATH ? `${env.HOMEDRIVE ?? "C:"}${env.HOMEPATH}` : "") ||
    fallbackHome || "";
  const expand = (path: string) => path.startsWith("~/") && home ? `${home}/${path.slice(2)}` : path;
  return {
    configPath: expand(env.AWS_CONFIG_FILE || "~/.aws/config"),
    credentialsPath: expand(env.AWS_SHARED_CREDENTIALS_FILE || "~/.aws/credentials"),
    ...(home ? { home } : {}),
  };
}

/**
 * The SSO token cache file the SDK reads for an SSO source: `<home>/.aws/sso/cache/<hex SHA-1>.json` of the
 * `sso_session` name, else of the start URL (as `getSSOTokenFilepath` in `@smithy/shared-ini-file-loader`;
 * tests/e2e/sso_test.ts signs in where the SDK reads and fails if the two disagree). Undefined without a
 * home. Its access token is a secret input of the cache key: another sign-in is another key.
 */
export async function ssoTokenFile(
  source: { readonly session?: string; readonly startUrl: string; readonly tokenCacheDir?: string },
): Promise<string | undefined> {
  if (source.tokenCacheDir === undefined) return undefined;
  const id = new TextEncoder().encode(source.session ?? source.startUrl);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", id));
  return `${source.tokenCacheDir}/${hex(digest)}.json`;
}

type ParsedIni = Record<string, ProfileSettings>;
/** The loader's entry point, injectable for tests. */
export type IniLoader = (
  init: { filepath: string; configFilepath: string; ignoreCache: boolean },
) => Promise<{
  configFile: ParsedIni;
  credentialsFile: ParsedIni;
}>;

async function sdkLoader(init: Parameters<IniLoader>[0]): ReturnType<IniLoader> {
  const { loadSharedConfigFiles } = await importNpm("@smithy/shared-ini-file-loader");
  return await loadSharedConfigFiles(init);
}

/**
 * Loads both files. A missing file is an empty one (as in the SDK); a file that exists but cannot be read is
 * a {@link ConfigError} — the SDK's loader would silently treat it as empty.
 */
export async function loadSharedConfig(
  paths: SharedConfigPaths,
  load: IniLoader = sdkLoader,
): Promise<SharedConfig> {
  const [config, credentials] = await Promise.all([
    exists(paths.configPath, "config file"),
    exists(paths.credentialsPath, "credentials file"),
  ]);
  if (!config && !credentials) {
    return { configFile: {}, credentialsFile: {}, ...paths };
  }
  let loaded: Awaited<ReturnType<IniLoader>>;
  try {
    loaded = await load({
      filepath: credentials ? paths.credentialsPath : "",
      configFilepath: config ? paths.configPath : "",
      ignoreCache: true,
    });
  } catch (e) {
    throw new ConfigError(
      "shared config",
      `cannot parse ${paths.configPath} or ${paths.credentialsPath}: ${fileErrorReason(e)}`,
      { cause: e },
    );
  }
  return {
    configFile: config ? loaded.configFile : {},
    credentialsFile: credentials ? loaded.credentialsFile : {},
    ...paths,
  };
}

/** Whether a file exists; throws when it exists but is not a readable regular file (or the null device). */
async function exists(path: string, what: string): Promise<boolean> {
  if (path === "" || path.startsWith("~/")) return false;
  // The null device is "no file", as for the AWS CLI and the SDKs (an empty file and a missing one load alike).
  if (isNullDevice(path, Deno.build.os)) return false;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new Deno.errors.IsADirectory(path);
    if (isNullDevice(path, Deno.build.os, info)) return false;
    // A FIFO would block the open (and the SDK's read), a device such as /dev/zero never ends.
    if (!info.isFile) throw new NotRegularFileError("not a regular file (a FIFO, device or socket)");
    if (info.size > MAX_CONFIG_FILE_BYTES) throw new FileTooLargeError(MAX_CONFIG_FILE_BYTES);
    (await Deno.open(path, { read: true })).close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw new ConfigError(`${what} ${path}`, fileErrorReason(e), { cause: e });
  }
}
