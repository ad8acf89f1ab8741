/**
 * The Go consumer (tests/go-consumer/main.go: the AWS SDK for Go v1 and v2 as Debian packages them), built
 * offline in GOPATH mode once and kept under `.tmp/` by the hash of its source and the Go version, so a
 * run after the first costs nothing.
 */
import { ROOT } from "./helpers.ts";
import { sha256Hex } from "./sts_standin/util.ts";

/** Where Debian's Go packages put their sources (golang-github-aws-aws-sdk-go{,-v2}-dev). */
const DEBIAN_GOPATH = "/usr/share/gocode";

let built: Promise<string> | undefined;

/** The path of the built consumer (`go-consumer v1|v2 STS_URL`); builds it on first use. */
export function goConsumer(): Promise<string> {
  return built ??= (async () => {
    const source = `${ROOT}tests/go-consumer/main.go`;
    const version = await new Deno.Command("go", { args: ["version"], stdin: "null" }).output();
    if (!version.success) throw new Error("go is missing: apt-get install golang-go");
    const id = (await sha256Hex(
      new Uint8Array([...await Deno.readFile(source), ...version.stdout]),
    )).slice(0, 16);
    const dir = `${ROOT}.tmp/go-consumer`;
    const bin = `${dir}/go-consumer-${id}`;
    if (await Deno.stat(bin).then((i) => i.isFile, () => false)) return bin;
    await Deno.mkdir(dir, { recursive: true });
    const out = await new Deno.Command("go", {
      args: ["build", "-o", `${bin}.tmp`, source],
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        GO111MODULE: "off",
        GOPATH: DEBIAN_GOPATH,
        GOCACHE: `${dir}/cache`,
        GOFLAGS: "",
        CGO_ENABLED: "0",
        HOME: dir,
      },
      clearEnv: true,
      stdin: "null",
    }).output();
    if (!out.success) throw new Error(`go build failed: ${new TextDecoder().decode(out.stderr)}`);
    await Deno.rename(`${bin}.tmp`, bin);
    return bin;
  })();
}
