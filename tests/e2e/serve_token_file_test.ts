/**
 * `credproc serve --token-file` end to end: the file is held to ssh's rule for a private key (a regular
 * file of this user's with no access for anyone else) and refused otherwise with exit 2 and a `chmod 600`
 * hint — other modes, another owner, a FIFO, /dev/null, a symbolic link to a readable file — and, while
 * serving, a rotated token takes over and a file that goes bad refuses every request until it is right.
 */
import assert from "node:assert/strict";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  EndedEarly,
  getCredentials,
  serveArgs,
  type Server,
  sourceHome,
  startServe,
} from "../support/serve_helpers.ts";
import { mkfifo, until } from "../support/helpers.ts";

const TOKEN = "file-token-0123456789-abcdefghij";

/** Starts serve with `path`; it must end with exit 2 before printing anything. Its stderr lines. */
async function refusedAtStart(args: string[], env: Record<string, string>): Promise<string[]> {
  const err = await startServe(args, env).then(
    async (s) => {
      await s.stop();
      return assert.fail("started");
    },
    (e) => e,
  );
  assert.ok(err instanceof EndedEarly, String(err));
  assert.equal(err.code, 2, err.stderr);
  assert.equal(err.stdout, "");
  return err.stderr.split("\n").filter((l: string) => l !== "");
}

Deno.test("serve --token-file: a file another user can read or write, or another user's, is refused (exit 2)", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const file = (name: string) => `${home.dir}/${name}`;
  const write = async (name: string, mode: number) => {
    await Deno.writeTextFile(file(name), TOKEN);
    await Deno.chmod(file(name), mode);
    return file(name);
  };
  const cases: [string, string[]][] = [];
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660]) {
    const path = await write(`mode ${mode.toString(8)}`, mode);
    const octal = `0${mode.toString(8)}`;
    cases.push([path, [
      `credproc: --token-file ${path}: its mode is ${octal}: other users can read or write it`,
      `hint: chmod 600 '${path}'`,
    ]]);
  }
  const link = file("link");
  await Deno.symlink(file("mode 644"), link);
  cases.push([link, [
    `credproc: --token-file ${link}: its mode is 0644: other users can read or write it`,
    `hint: chmod 600 ${link}`,
  ]]);
  if (Deno.uid() === 0) {
    const theirs = await write("theirs", 0o600);
    await Deno.chown(theirs, 65534, 65534);
    cases.push([theirs, [
      `credproc: --token-file ${theirs}: it belongs to uid 65534, not to this user (uid 0)`,
      "hint: use a token file of your own: printf %s TOKEN > FILE; chmod 600 FILE",
    ]]);
  }
  const fifo = file("fifo");
  await mkfifo(fifo);
  cases.push([fifo, [`credproc: --token-file ${fifo}: not a regular file (a FIFO, device or socket)`]]);
  cases.push(["/dev/null", [
    "credproc: --token-file /dev/null: not a regular file (a FIFO, device or socket)",
  ]]);
  const got: [string, string[]][] = [];
  for (const [path] of cases) {
    got.push([path, await refusedAtStart(serveArgs(standin, "--token-file", path), env)]);
  }
  assert.deepEqual(got, cases);
  assert.equal(standin.count("AssumeRole"), 0, "refused before any STS call");
});

Deno.test("serve --token-file: a rotated token takes over; a file gone bad refuses every request until it is right", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const path = `${home.dir}/token`;
  await Deno.writeTextFile(path, TOKEN, { mode: 0o600 });
  const link = `${home.dir}/token-link`;
  await Deno.symlink(path, link); // a link to a private file of ours is fine
  await using server = await startServe(serveArgs(standin, "--token-file", link), env);
  const status = async (s: Server, token: string) =>
    (await getCredentials(s, { authorization: token })).status;
  assert.equal(await status(server, TOKEN), 200);

  // Rotation, written the atomic way (a temporary file renamed over the old one).
  const rotated = "rotated-token-abcdefghijklmnop-0123";
  await Deno.writeTextFile(`${path}.new`, rotated, { mode: 0o600 });
  await Deno.rename(`${path}.new`, path);
  await until("the rotated token is accepted", async () => await status(server, rotated) === 200, 10_000);
  assert.equal(await status(server, TOKEN), 401, "the old token no longer works");

  // Readable by others: every request is refused (503), the old token too, until it is private again.
  await Deno.chmod(path, 0o644);
  await until("requests are refused", async () => await status(server, rotated) === 503, 10_000);
  const refused = await getCredentials(server, { authorization: rotated });
  assert.deepEqual(refused.body, {
    Code: "TokenFileUnusable",
    Message: "the server's token file cannot be used",
  });
  await Deno.chmod(path, 0o600);
  await until("requests are answered again", async () => await status(server, rotated) === 200, 10_000);

  const r = await server.stop();
  assert.equal(r.code, 0);
  assert.deepEqual(r.stderr.split("\n").filter((l) => l !== ""), [
    `credproc: serve: every request is refused until the token file is right: --token-file ${link}: ` +
    "its mode is 0644: other users can read or write it",
  ]);
});
