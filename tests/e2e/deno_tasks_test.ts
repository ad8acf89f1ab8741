/**
 * From source, the tasks never let Deno's own update check connect out. `deno run` asks dl.deno.land for the
 * latest release about half a second after start, at most once a day per Deno cache (`latest.txt` in
 * DENO_DIR), unless DENO_NO_UPDATE_CHECK is set; through HTTPS_PROXY that shows as `CONNECT dl.deno.land:443`.
 * Every task of deno.json sets the variable itself, so it holds outside this suite's network namespace too.
 */
import assert from "node:assert/strict";
import { DENO_DIR, ROOT, tempHome, until } from "../support/helpers.ts";
import { startConnectProxy } from "../support/net_fixtures.ts";
import { standinArgs } from "../support/standin_call.ts";
import { startStandin } from "../support/sts_standin/mod.ts";

const TASKS = (JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
  tasks: Record<string, string | { command: string }>;
}).tasks;

/** The simple commands of a task's shell line, each with whether DENO_NO_UPDATE_CHECK=1 is set for it. */
function commands(line: string): { argv: string[]; quiet: boolean }[] {
  const out: { argv: string[]; quiet: boolean }[] = [];
  let exported = false;
  for (const part of line.replace(/'[^']*'/g, "''").split(/&&|\|\||[;|()]/)) {
    const words = part.trim().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0) continue;
    if (words[0] === "export") {
      if (words.includes("DENO_NO_UPDATE_CHECK=1")) exported = true;
      continue;
    }
    const env = words.slice(0, Math.max(0, words.findIndex((x) => !/^\w+=/.test(x))));
    const argv = words.slice(env.length);
    out.push({ argv, quiet: exported || env.includes("DENO_NO_UPDATE_CHECK=1") });
  }
  return out;
}

Deno.test("deno tasks: every deno the tasks start has DENO_NO_UPDATE_CHECK=1", () => {
  const loud: string[] = [];
  for (const [name, task] of Object.entries(TASKS)) {
    const line = typeof task === "string" ? task : task.command;
    for (const c of commands(line)) {
      if (c.argv[0] === "deno" && !c.quiet) loud.push(`${name}: ${c.argv.join(" ")}`);
    }
  }
  assert.deepEqual(loud, []);
  // The parser above sees what it must: the setup task's two deno commands, the check task's three.
  assert.deepEqual(commands("deno fmt --check && deno lint").map((c) => c.quiet), [false, false]);
  assert.deepEqual(
    commands("export DENO_NO_UPDATE_CHECK=1 && (deno eval 'x' 2>/dev/null || deno install)").map((c) =>
      c.quiet
    ),
    [true, true],
  );
});

/** A Deno cache that shares every cached module but has never checked for updates (no `latest.txt`). */
async function neverChecked(dir: string): Promise<string> {
  const fresh = `${dir}/deno-dir`;
  await Deno.mkdir(fresh);
  for await (const e of Deno.readDir(DENO_DIR)) {
    if (e.name !== "latest.txt") await Deno.symlink(`${DENO_DIR}/${e.name}`, `${fresh}/${e.name}`);
  }
  return fresh;
}

Deno.test("deno tasks: deno task credproc -- serve connects to nothing through HTTPS_PROXY", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  await using proxy = startConnectProxy();
  const denoDir = await neverChecked(home.dir);
  // The source in a named profile: no keys in the environment or [default] that serve would warn about.
  await home.writeCredentials(
    `[src]\naws_access_key_id = ${standin.accessKeyId}\naws_secret_access_key = ${standin.secretAccessKey}\n`,
  );
  // Not home.env(): it sets DENO_NO_UPDATE_CHECK, which is what the task itself must do.
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home.dir,
    DENO_DIR: denoDir,
    HTTPS_PROXY: proxy.url,
    AWS_CONFIG_FILE: home.configFile,
    AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile,
    AWS_EC2_METADATA_DISABLED: "true",
    CREDPROC_CACHE_DIR: home.cacheDir,
    NO_COLOR: "1",
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "credproc", "--", "serve", ...standinArgs(standin, ["--profile", "src"])],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  const read = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) stdout += chunk;
  })();
  const exited = child.status;
  let gone = false;
  exited.then(() => gone = true);
  await until("the export lines", () => gone || stdout.split("\n").length >= 3);
  // Deno starts its check 500 ms after start-up: give it four times that (a wait, not a measurement).
  await new Promise((r) => setTimeout(r, 2000));
  child.kill("SIGTERM");
  const { code } = await exited;
  await read;
  assert.equal(await stderr, "");
  assert.match(stdout, /^export AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\/credentials\n/);
  assert.equal(code, 0);
  assert.deepEqual(proxy.connects, []);
  assert.deepEqual(proxy.others, []);
  assert.equal(standin.count("AssumeRole"), 1);
  await assert.rejects(Deno.stat(`${denoDir}/latest.txt`), Deno.errors.NotFound);
});
