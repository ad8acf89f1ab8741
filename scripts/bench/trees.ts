/**
 * The credproc trees a bench run times: this checkout (or a compiled binary), and with `--against REV` a second
 * tree — REV's files from `git archive`, in a temporary directory — run the same way, so each credproc row is
 * timed for both in the same rounds. A tree is driven only through argv and the environment (never through its
 * scripts or tasks, which differ between revisions); each tree has a cache directory of its own.
 */
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The real `deno` executable (an npm wrapper would add its own start-up to every row). */
export const DENO = Deno.realPathSync(Deno.execPath());
/** How the bench runs every Deno program from source: the flags of `deno task credproc`, its config named. */
export const denoRunFlags = (
  root: string,
) => ["-q", "-P", "--no-prompt", "--cached-only", "--config", `${root}deno.json`];

/** One credproc to time. */
export interface Tree {
  /** `this` or `rev`: the prefix of its row keys. */
  readonly id: "this" | "rev";
  /** What the tables call it: `this tree` or the revision's short hash. */
  readonly label: string;
  /** The argv prefix that runs it. */
  readonly command: readonly string[];
  /** Its own cache directory (`CREDPROC_CACHE_DIR`): two versions never share entries or memos. */
  readonly cacheDir: string;
  /** Its source directory (with a trailing slash), when it runs from source. */
  readonly root?: string;
}

/** Runs `argv` to the end; stdout and stderr as text. */
export async function run(
  argv: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

/** This checkout under `deno run`, or the compiled binary `bin`. */
export function thisTree(work: string, bin: string | undefined): Tree {
  return {
    id: "this",
    label: "this tree",
    command: bin ? [bin] : [DENO, "run", ...denoRunFlags(ROOT), `${ROOT}main.ts`],
    cacheDir: `${work}/cache-this`,
    root: bin ? undefined : ROOT,
  };
}

/**
 * REV's files in `${work}/rev/`, run like this tree. Its npm packages must be in Deno's cache: when a run says
 * they are not, the tree's own graph is installed once (`deno install --frozen`, from the npm registry).
 */
export async function revTree(rev: string, work: string, env: Record<string, string>): Promise<Tree> {
  const git = async (...args: string[]) => {
    const o = await new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
    if (!o.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(o.stderr).trim()}`);
    return o.stdout;
  };
  const commit = new TextDecoder().decode(await git("rev-parse", "--verify", `${rev}^{commit}`)).trim();
  const root = `${work}/rev/`;
  await Deno.mkdir(root, { recursive: true });
  const tar = `${work}/rev.tar`;
  await Deno.writeFile(tar, await git("archive", "--format=tar", commit));
  const x = await new Deno.Command("tar", { args: ["-xf", tar, "-C", root], stderr: "piped" }).output();
  if (!x.success) throw new Error(`tar: ${new TextDecoder().decode(x.stderr).trim()}`);
  await Deno.remove(tar);
  const tree: Tree = {
    id: "rev",
    label: commit.slice(0, 7),
    command: [DENO, "run", ...denoRunFlags(root), `${root}main.ts`],
    cacheDir: `${work}/cache-rev`,
    root,
  };
  // The cheapest run that loads the SDK: --no-cache against a closed port fails after loading everything.
  const probe = () =>
    run([
      ...tree.command,
      "--role-arn",
      "arn:aws:iam::123456789012:role/probe",
      "--no-cache",
      "--endpoint-url",
      "http://127.0.0.1:9",
      "--timeout",
      "2",
    ], { ...env, AWS_MAX_ATTEMPTS: "1" });
  if (/module cache|not found in cache/.test((await probe()).err)) {
    const entries = ["main.ts", "lib/cli/cli.ts", "lib/npm_modules.ts"].filter((f) => {
      try {
        return Deno.statSync(`${root}${f}`).isFile;
      } catch {
        return false;
      }
    });
    const o = await new Deno.Command(DENO, {
      args: ["install", "-q", "--frozen", "--entrypoint", ...entries],
      cwd: root,
      env: { ...env },
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).output();
    const still = (await probe()).err;
    if (!o.success || /module cache|not found in cache/.test(still)) {
      throw new Error(
        `${rev}: its modules are not in Deno's cache and deno install failed:\n${
          new TextDecoder().decode(o.stderr) || still
        }`,
      );
    }
  }
  return tree;
}
