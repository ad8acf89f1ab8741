/**
 * The credential_process line install.ps1 prints, checked against how each consumer runs such a line on
 * Windows. No PowerShell here: the test reads the script's rule (`$PlainPath` and
 * `Get-CredentialProcessProgram`, asserted verbatim) and applies it to user folders with and without a
 * space. Each line must give the program as the first word and the arguments as the rest under:
 * - botocore (AWS CLI v1/v2, boto3): `compat_shell_split` → `_windows_shell_split`, then Popen of the list —
 *   ported here, and the same lines run through the real function of both botocores installed here;
 * - the Go SDK v2 (credentials/processcreds): `exec.Command("cmd.exe", "/C", line)`: Go quotes the line once
 *   more (syscall.makeCmdLine / appendEscapeArg), cmd.exe applies its /C quote rule, the program splits its
 *   own command line (MSVC rules);
 * - the .NET SDK and AWS Tools for PowerShell (ProcessAWSCredentials): `cmd.exe` with Arguments `/c <line>`;
 * - the JS SDK v3 (credential-provider-process): `child_process.exec(line)`: `cmd.exe /d /s /c "<line>"`.
 * The quoted line the script used to print is the control: it breaks the Go SDK v2.
 */
import assert from "node:assert/strict";
import { ROOT } from "../support/helpers.ts";

const SCRIPT = await Deno.readTextFile(`${ROOT}scripts/install.ps1`);
const ARGS = ["--profile", "default", "--role-arn", "arn:aws:iam::123456789012:role/my-role"];

/** install.ps1's choice of program for the installed path, read from the script. */
function scriptProgram(): (bin: string) => string {
  const m = /^\$PlainPath = '((?:[^']|'')*)'$/m.exec(SCRIPT);
  assert.ok(m, "install.ps1 defines $PlainPath in single quotes");
  // PowerShell's -match is a case-insensitive .NET regex; this pattern means the same in JavaScript.
  const plain = new RegExp(m[1].replaceAll("''", "'"), "i");
  const fn = /^function Get-CredentialProcessProgram\(\[string\]\$Bin\) \{\n([\s\S]*?)\n\}$/m.exec(SCRIPT);
  assert.ok(fn, "install.ps1 defines Get-CredentialProcessProgram");
  assert.equal(
    fn[1].replace(/\s+/g, " ").trim(),
    'if ($Bin -match $PlainPath) { return $Bin } return "credproc"',
    "the rule reproduced below is the script's",
  );
  assert.match(SCRIPT, /^ {2}\$program = Get-CredentialProcessProgram \$bin$/m);
  assert.ok(
    SCRIPT.includes(`Write-Output "credential_process = $program ${ARGS.join(" ")}"`),
    "the printed line is the program and the arguments",
  );
  return (bin) => plain.test(bin) ? bin : "credproc";
}

/** botocore.compat._windows_shell_split, ported line for line. */
function botocoreWindowsSplit(s: string): string[] {
  const components: string[] = [];
  let buff: string[] = [];
  let quoted = false;
  let backslashes = 0;
  for (const c of s) {
    if (c === "\\") {
      backslashes++;
    } else if (c === '"') {
      if (backslashes > 0) {
        buff.push("\\".repeat(Math.floor(backslashes / 2)));
        const odd = backslashes % 2;
        backslashes = 0;
        if (odd === 1) {
          buff.push('"');
          continue;
        }
      }
      quoted = !quoted;
      buff.push("");
    } else if ((c === " " || c === "\t") && !quoted) {
      if (backslashes > 0) buff.push("\\".repeat(backslashes)), backslashes = 0;
      if (buff.length > 0) components.push(buff.join("")), buff = [];
    } else {
      if (backslashes > 0) buff.push("\\".repeat(backslashes)), backslashes = 0;
      buff.push(c);
    }
  }
  if (quoted) throw new Error(`No closing quotation in string: ${s}`);
  if (backslashes > 0) buff.push("\\".repeat(backslashes));
  if (buff.length > 0) components.push(buff.join(""));
  return components;
}

/** Go's syscall.appendEscapeArg for one argument. */
function goEscapeArg(s: string): string {
  if (s === "") return '""';
  const needsBackslash = /["\\]/.test(s);
  const hasSpace = /[ \t]/.test(s);
  if (!needsBackslash && !hasSpace) return s;
  if (!needsBackslash) return `"${s}"`;
  let b = hasSpace ? '"' : "";
  let slashes = 0;
  for (const c of s) {
    if (c === "\\") slashes++;
    else if (c === '"') b += "\\".repeat(slashes) + "\\", slashes = 0;
    else slashes = 0;
    b += c;
  }
  if (hasSpace) b += "\\".repeat(slashes) + '"';
  return b;
}

/**
 * cmd.exe given `/C` (or `/S /C`) and the rest of its command line (`cmd /?`): exactly two quotes around
 * the name of an existing program, with whitespace and none of &<>()@^| between them, are kept; otherwise a
 * leading quote is removed together with the last quote of the line. Then the first word (quotes toggle,
 * whitespace ends it) is the program, started with the line from that word on as its command line.
 */
function cmdExe(rest: string, stripAlways: boolean, exists: (path: string) => boolean) {
  let line = rest.trimStart();
  const quotes = [...line].filter((c) => c === '"').length;
  const between = quotes === 2 ? line.slice(line.indexOf('"') + 1, line.lastIndexOf('"')) : "";
  const keep = !stripAlways && quotes === 2 && /\s/.test(between) && !/[&<>()@^|]/.test(between) &&
    exists(between);
  if (!keep && line.startsWith('"')) {
    const last = line.lastIndexOf('"');
    line = last > 0 ? line.slice(1, last) + line.slice(last + 1) : line.slice(1);
  }
  // Outside this model: anything cmd.exe would expand or redirect. A line that needs it fails the test.
  if (/[&|<>^%]/.test(line)) return { program: "(cmd.exe syntax)", commandLine: line };
  let i = 0;
  let quoted = false;
  let program = "";
  for (; i < line.length && (quoted || !/\s/.test(line[i])); i++) {
    if (line[i] === '"') quoted = !quoted;
    else program += line[i];
  }
  return { program, commandLine: line };
}

/** How a Windows program (the MSVC runtime, Rust's std) splits its command line: argv[1..]. */
function msvcArgs(commandLine: string): string[] {
  let i = 0;
  // argv[0]: up to the next quote when it starts with one, else up to whitespace; no escapes.
  if (commandLine[0] === '"') i = commandLine.indexOf('"', 1) + 1 || commandLine.length;
  else while (i < commandLine.length && !/[ \t]/.test(commandLine[i])) i++;
  const args: string[] = [];
  for (;;) {
    while (i < commandLine.length && /[ \t]/.test(commandLine[i])) i++;
    if (i >= commandLine.length) return args;
    let arg = "";
    let quoted = false;
    while (i < commandLine.length && (quoted || !/[ \t]/.test(commandLine[i]))) {
      let slashes = 0;
      while (commandLine[i] === "\\") slashes++, i++;
      if (commandLine[i] === '"') {
        arg += "\\".repeat(Math.floor(slashes / 2));
        if (slashes % 2 === 1) arg += '"', i++;
        else if (quoted && commandLine[i + 1] === '"') arg += '"', i += 2;
        else quoted = !quoted, i++;
      } else {
        arg += "\\".repeat(slashes);
        if (i < commandLine.length && (quoted || !/[ \t]/.test(commandLine[i]))) arg += commandLine[i++];
      }
    }
    args.push(arg);
  }
}

type Runner = (line: string, exists: (path: string) => boolean) => string[];

const CONSUMERS: Record<string, Runner> = {
  "botocore (Windows)": (line) => botocoreWindowsSplit(line),
  "Go SDK v2 (cmd.exe /C)": (line, exists) => {
    // exec.Command("cmd.exe", "/C", line): the command line Go builds, then cmd.exe's part after "/C".
    const goLine = ["cmd.exe", "/C", line].map(goEscapeArg).join(" ");
    const run = cmdExe(goLine.slice("cmd.exe /C ".length), false, exists);
    return [run.program, ...msvcArgs(run.commandLine)];
  },
  ".NET SDK / AWS Tools for PowerShell (cmd.exe /c)": (line, exists) => {
    const run = cmdExe(line, false, exists); // Arguments = "/c " + line, verbatim
    return [run.program, ...msvcArgs(run.commandLine)];
  },
  "JS SDK v3 (cmd.exe /d /s /c)": (line, exists) => {
    const run = cmdExe(`"${line}"`, true, exists);
    return [run.program, ...msvcArgs(run.commandLine)];
  },
};

const FOLDERS = [
  "C:\\Users\\Jane Doe",
  "C:\\Users\\jane",
  "C:\\Users\\O'Brien & Co",
  "C:\\Users\\Zoë (work)",
  "\\\\fileserver\\home\\jane",
];

/** The real botocore split for each line, from the python botocore (boto3, AWS CLI v1) and the AWS CLI v2's. */
async function realBotocore(lines: string[]): Promise<Record<string, string[][]>> {
  const out: Record<string, string[][]> = {};
  const runs: [string, string, string][] = [
    ["botocore (boto3)", "python3", "botocore.compat"],
    ["botocore (AWS CLI v2)", "/usr/bin/python3", "awscli.botocore.compat"],
  ];
  for (const [name, python, module] of runs) {
    const r = await new Deno.Command(python, {
      args: [
        "-c",
        `import json, sys; from ${module} import compat_shell_split as s; ` +
        `print(json.dumps([s(l, "win32") for l in json.loads(sys.argv[1])]))`,
        JSON.stringify(lines),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    out[name] = JSON.parse(new TextDecoder().decode(r.stdout));
  }
  return out;
}

Deno.test("install.ps1's credential_process line runs as program + arguments in every SDK on Windows", async (t) => {
  const program = scriptProgram();
  const cases = FOLDERS.map((home) => {
    const bin = `${home}\\.local\\bin\\credproc.exe`;
    return { bin, program: program(bin), line: `${program(bin)} ${ARGS.join(" ")}` };
  });
  const real = await realBotocore(cases.map((c) => c.line));
  for (const [i, c] of cases.entries()) {
    await t.step(c.bin, () => {
      const exists = (path: string) => path === c.bin;
      for (const [name, run] of Object.entries(CONSUMERS)) {
        assert.deepEqual(run(c.line, exists), [c.program, ...ARGS], `${name}: ${c.line}`);
      }
      for (const [name, split] of Object.entries(real)) {
        assert.deepEqual(split[i], [c.program, ...ARGS], `${name}: ${c.line}`);
      }
    });
  }
  // The user folder with a space (and the others with quote, & or parentheses) get the bare name; the
  // plain ones the full path.
  assert.deepEqual(cases.map((c) => c.program), [
    "credproc",
    "C:\\Users\\jane\\.local\\bin\\credproc.exe",
    "credproc",
    "credproc",
    "\\\\fileserver\\home\\jane\\.local\\bin\\credproc.exe",
  ]);
  assert.equal(cases[0].line, "credproc --profile default --role-arn arn:aws:iam::123456789012:role/my-role");
});

Deno.test("the control: the quoted path install.ps1 used to print breaks the Go SDK v2, not botocore", async () => {
  const bin = "C:\\Users\\Jane Doe\\.local\\bin\\credproc.exe";
  const line = `"${bin}" ${ARGS.join(" ")}`;
  const exists = (path: string) => path === bin;
  const go = CONSUMERS["Go SDK v2 (cmd.exe /C)"](line, exists);
  // What cmd.exe tries to start (aws-sdk-go-v2#3208): the path with the backslashes Go put before the quotes.
  assert.equal(go[0], "\\C:\\Users\\Jane Doe\\.local\\bin\\credproc.exe\\");
  assert.deepEqual(CONSUMERS["botocore (Windows)"](line, exists), [bin, ...ARGS]);
  assert.deepEqual((await realBotocore([line]))["botocore (boto3)"][0], [bin, ...ARGS]);
  // .NET keeps exactly two quotes around an existing program; one more quoted argument and cmd.exe strips
  // the first and the last quote instead (aws-tools-for-powershell#393: 'C:\Program' is not recognized).
  const net = CONSUMERS[".NET SDK / AWS Tools for PowerShell (cmd.exe /c)"];
  assert.deepEqual(net(line, exists), [bin, ...ARGS]);
  assert.equal(net(`${line} --role-session-name "a b"`, exists)[0], "C:\\Users\\Jane");
  // And a program in "C:\Program Files (x86)" breaks .NET even alone: parentheses void the exception.
  const x86 = "C:\\Program Files (x86)\\credproc\\credproc.exe";
  assert.equal(net(`"${x86}" ${ARGS.join(" ")}`, (p) => p === x86)[0], "C:\\Program");
});
