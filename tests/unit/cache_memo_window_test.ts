/** The memo's "changed just now" window, bounded on both sides (lib/cache/memo.ts `changedJustNow`). */
import assert from "node:assert/strict";
import { changedJustNow } from "../../lib/cache/memo.ts";

const STARTED = Date.parse("2026-12-01T12:00:00.000Z");
const NOW = STARTED + 300;

Deno.test("memo window: an edit while the plan was built counts; old files and far-future mtimes do not", () => {
  const cases: [string, number, boolean][] = [
    ["long before the process started", STARTED - 60_000, false],
    ["just outside the coarse-timestamp slack", STARTED - 2000, false],
    ["within the coarse-timestamp slack (FAT: 2 s)", STARTED - 1999, true],
    ["while the plan was being built", STARTED + 100, true],
    ["now", NOW, true],
    ["a few seconds ahead (a network file system's clock)", NOW + 5000, true],
    ["more than a few seconds ahead", NOW + 5001, false],
    ["an hour ahead (touch -d '+1 hour', an unpacked archive)", NOW + 3600_000, false],
  ];
  for (const [what, mtime, expected] of cases) {
    assert.equal(changedJustNow(mtime, STARTED, NOW), expected, what);
  }
});
