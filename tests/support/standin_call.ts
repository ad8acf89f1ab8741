/**
 * The usual end-to-end call against the STS stand-in: the role {@link ROLE} at the stand-in's URL in
 * us-east-1, with the stand-in's keys as the source credentials in a temporary home's environment.
 */
import { ROLE, type TempHome, tempHome } from "./helpers.ts";
import type { Standin } from "./sts_standin/mod.ts";

/** argv for one credproc call against `standin` (then `extra`). */
export function standinArgs(standin: Standin, extra: readonly string[] = []): string[] {
  return ["--role-arn", ROLE, "--endpoint-url", standin.url, "--region", "us-east-1", ...extra];
}

/** A temp HOME whose `[base]` (credentials file) holds the stand-in's keys and whose config is `config`. */
export async function standinHome(standin: Standin, config = ""): Promise<TempHome> {
  const home = await tempHome();
  await home.writeConfig(config);
  await home.writeCredentials(
    `[base]\naws_access_key_id = ${standin.accessKeyId}\naws_secret_access_key = ${standin.secretAccessKey}\n`,
  );
  return home;
}

/** `home`'s environment with the stand-in's keys as the source credentials (then `extra`). */
export function standinEnv(
  home: TempHome,
  standin: Standin,
  extra: Record<string, string> = {},
): Record<string, string> {
  return home.env({
    AWS_ACCESS_KEY_ID: standin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
    ...extra,
  });
}
