/**
 * One overall deadline for every network step of a call — source resolution (SSO, container, instance
 * metadata) and each STS call — derived from `--timeout`. It starts at the first network step (not at
 * process start: a caller that waited for another's cache lock keeps its whole budget), and time spent
 * waiting for a person (the MFA prompt) is not counted.
 */
import { NetworkError } from "../errors.ts";

/** The budget shared by the steps of one call. */
export interface Deadline {
  /** The `--timeout` it was made from, in ms (for messages). */
  readonly totalMs: number;
  /** Ms left (starts the clock on first use); 0 when spent. */
  remaining(): number;
  /** Awaits `p` without counting its time (a person typing an MFA code). */
  exclude<T>(p: Promise<T>): Promise<T>;
  /** Settles like `p`, or rejects with a one-line timeout error for `what` when the budget runs out first. */
  race<T>(what: string, p: Promise<T>, hint?: string): Promise<T>;
}

/** A deadline of `totalMs`; `now` is injectable for tests. */
export function createDeadline(totalMs: number, now: () => number = () => performance.now()): Deadline {
  let endsAt: number | undefined;
  let paused = 0;
  const remaining = () => {
    endsAt ??= now() + totalMs;
    return Math.max(0, endsAt + paused - now());
  };
  return {
    totalMs,
    remaining,
    async exclude(p) {
      const started = now();
      try {
        return await p;
      } finally {
        if (endsAt !== undefined) paused += now() - started;
      }
    },
    race(what, p, hint) {
      const left = remaining();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new NetworkError(what, `no answer within ${totalMs / 1000} s (--timeout)`, {
                hint: hint ?? "the endpoint is not answering: check it, or allow more time with --timeout",
              }),
            ),
          left,
        );
      });
      return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
    },
  };
}
