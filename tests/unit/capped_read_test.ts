/** lib/capped_read.ts: the bounded body read shared by the STS, sign-in and federation answers. */
import assert from "node:assert/strict";
import { readCapped } from "../../lib/capped_read.ts";

/** A stream of `chunks`; `cancelled` says whether the reader cancelled it. */
function streamOf(chunks: readonly number[][]) {
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === chunks.length) controller.close();
      else controller.enqueue(new Uint8Array(chunks[state.pulled++]));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

const tooLarge = () => new Error("too large");

Deno.test("readCapped: chunks joined in order, up to exactly the bound", async () => {
  const { stream, state } = streamOf([[1, 2], [3], [4, 5]]);
  assert.deepEqual([...await readCapped(stream, 5, tooLarge)], [1, 2, 3, 4, 5]);
  assert.equal(state.cancelled, false);
});

Deno.test("readCapped: one byte past the bound is refused, and the rest is not read", async () => {
  const { stream, state } = streamOf([[1, 2], [3, 4], [5, 6], [7, 8]]);
  await assert.rejects(() => readCapped(stream, 3, tooLarge), Error, "too large");
  assert.equal(state.cancelled, true);
  assert.ok(state.pulled < 4, `stopped at the chunk that passed the bound (pulled ${state.pulled})`);
});

Deno.test("readCapped: an empty body is empty; one chunk is returned as it came", async () => {
  assert.equal((await readCapped(streamOf([]).stream, 0, tooLarge)).byteLength, 0);
  const { stream } = streamOf([[9, 9, 9]]);
  assert.deepEqual([...await readCapped(stream, 3, tooLarge)], [9, 9, 9]);
});
