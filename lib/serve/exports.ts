/**
 * What `credproc serve` tells the shell: the export lines that point the SDKs at the endpoint, and the one
 * warning when the SDKs would not use it — every SDK takes `AWS_ACCESS_KEY_ID` and the keys of the profile
 * in force before the container endpoint. Pure: the CLI passes the environment and the shared files it read.
 */
import { shellWord } from "../output.ts";
import { CREDENTIALS_PATH } from "./handler.ts";

/** The `export` lines a shell evaluates to point the SDKs at the endpoint (the token, or the token file). */
export function exportLines(port: number, auth: { token: string } | { tokenFile: string }): string {
  const lines = [["AWS_CONTAINER_CREDENTIALS_FULL_URI", `http://127.0.0.1:${port}${CREDENTIALS_PATH}`]];
  lines.push(
    "token" in auth
      ? ["AWS_CONTAINER_AUTHORIZATION_TOKEN", auth.token]
      : ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", auth.tokenFile],
  );
  return lines.map(([n, v]) => `export ${n}=${shellWord(v)}\n`).join("");
}

/** The shared files as the SDK's loader parsed them (profile name → settings), and where they are. */
export interface ProfileFiles {
  readonly configFile: Readonly<Record<string, Readonly<Record<string, string | undefined>>>>;
  readonly credentialsFile: Readonly<Record<string, Readonly<Record<string, string | undefined>>>>;
  readonly configPath: string;
  readonly credentialsPath: string;
}

/** Which of the two files give profile `name` an access key (the SDKs use it before the endpoint). */
function keysOf(files: ProfileFiles, name: string): string[] {
  const has = (file: ProfileFiles["configFile"]) =>
    Object.hasOwn(file, name) && (file[name].aws_access_key_id ?? "") !== "";
  return [
    ...(has(files.credentialsFile) ? [files.credentialsPath] : []),
    ...(has(files.configFile) ? [files.configPath] : []),
  ];
}

/**
 * The warning line when an SDK started with the export lines in this environment would take other
 * credentials first — `AWS_ACCESS_KEY_ID`, the keys of the profile `AWS_PROFILE` names, or (without
 * `AWS_PROFILE`, or once it is unset) the keys of `[default]` — with the commands that make the endpoint
 * win; undefined when nothing shadows it.
 */
export function shadowWarning(
  env: { readonly AWS_ACCESS_KEY_ID?: string; readonly AWS_PROFILE?: string },
  files: ProfileFiles,
): string | undefined {
  const what: string[] = [];
  const fix: string[] = [];
  if ((env.AWS_ACCESS_KEY_ID ?? "") !== "") {
    what.push("AWS_ACCESS_KEY_ID from the environment");
    fix.push("unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN");
  }
  const profile = env.AWS_PROFILE ?? "";
  let defaultApplies = profile === "" || profile === "default";
  if (!defaultApplies) {
    const where = keysOf(files, profile);
    if (where.length > 0) {
      what.push(`the keys of profile ${profile} (AWS_PROFILE, in ${where.join(" and ")})`);
      fix.push("unset AWS_PROFILE");
      defaultApplies = true; // once AWS_PROFILE is unset, [default] is the profile in force
    }
  }
  if (defaultApplies) {
    const where = keysOf(files, "default");
    if (where.length > 0) {
      what.push(`the keys of profile default (in ${where.join(" and ")})`);
      if (where.includes(files.credentialsPath)) fix.push("export AWS_SHARED_CREDENTIALS_FILE=/dev/null");
      if (where.includes(files.configPath)) fix.push("export AWS_CONFIG_FILE=/dev/null");
    }
  }
  if (what.length === 0) return undefined;
  return `credproc: warning: the AWS SDKs use ${what.join(" and ")} before ` +
    `AWS_CONTAINER_CREDENTIALS_FULL_URI; where the export lines are used, also run: ${fix.join("; ")}`;
}
