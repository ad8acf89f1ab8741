/**
 * An HTTP answer's body read whole with a bound, for the endpoints credproc reads answers from (STS and the
 * `aws login` sign-in token endpoint through the SDK's fetch handler, the console's federation endpoint): memory
 * stays bounded whatever the endpoint sends. A leaf.
 */

/**
 * `body` read to its end with a counted loop into one buffer — no stream transform: the first one a process
 * builds costs more than reading a small answer — and refused with `tooLarge()` (the rest cancelled) once it
 * passes `max` bytes.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array>,
  max: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(seen);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}
