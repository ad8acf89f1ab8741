/**
 * The rule that recognises the null device (`isNullDevice` in lib/model.ts), on every system credproc names:
 * Linux and macOS by device number, other Unix systems by the literal path, Windows by the name `NUL`.
 */
import assert from "node:assert/strict";
import { isNullDevice } from "../../lib/model.ts";
import { ignoreIf } from "../support/helpers.ts";

const char = (rdev: number) => ({ isCharDevice: true, rdev });

Deno.test("null device: Linux and macOS by device number, whatever the path", () => {
  assert.equal(isNullDevice("/dev/null", "linux", char(0x103)), true);
  assert.equal(isNullDevice("/proc/self/fd/0", "linux", char(0x103)), true, "a link resolved by stat");
  assert.equal(isNullDevice("/dev/null", "linux", char(0x105)), false, "/dev/zero's number at that name");
  assert.equal(isNullDevice("/dev/tty", "linux", char(0x500)), false);
  assert.equal(isNullDevice("/dev/null", "linux", { isCharDevice: false, rdev: 0x103 }), false);
  assert.equal(isNullDevice("/dev/null", "linux", { isCharDevice: null, rdev: null }), false);
  assert.equal(isNullDevice("/dev/null", "linux"), false, "no stat, no answer on Unix");
  assert.equal(isNullDevice("/dev/null", "darwin", char(0x03000002)), true);
  assert.equal(isNullDevice("/dev/null", "darwin", char(0x103)), false);
});

Deno.test("null device: other Unix systems by the literal path of a character device", () => {
  assert.equal(isNullDevice("/dev/null", "freebsd", char(12345)), true);
  assert.equal(isNullDevice("/dev/zero", "freebsd", char(12346)), false);
  assert.equal(isNullDevice("/dev/null", "freebsd", { isCharDevice: false, rdev: 0 }), false);
});

Deno.test("null device: Windows by the name NUL, before any stat", () => {
  for (const name of ["NUL", "nul", "Nul", "\\\\.\\NUL", "\\\\?\\nul"]) {
    assert.equal(isNullDevice(name, "windows"), true, name);
  }
  for (const name of ["NUL.txt", "C:\\NUL\\x", "/dev/null", "NULL", "nul ", ""]) {
    assert.equal(isNullDevice(name, "windows"), false, name);
  }
});

Deno.test({
  ...ignoreIf(
    "null device: this machine's /dev/null matches, /dev/zero does not",
    Deno.build.os === "windows" && "Windows has no /dev/null",
  ),
}, () => {
  assert.equal(isNullDevice("/dev/null", Deno.build.os, Deno.statSync("/dev/null")), true);
  assert.equal(isNullDevice("/dev/zero", Deno.build.os, Deno.statSync("/dev/zero")), false);
});
