/**
 * One provider shared by every request of a `credproc serve` process: the credentials it holds, and the one
 * provider call in flight (N requests → one call; the provider, credproc's cache and lock, makes processes
 * share one STS call). Imports only the model.
 */
import type { Credentials } from "../model.ts";

/** {@link sharedCredentials}' handle. */
export interface SharedCredentials {
  /** The credentials held while more than the margin remains; undefined when none are, or they are due. */
  held(): Credentials | undefined;
  /** The held credentials, or those of a call (shared with every request that asks while it runs). */
  get(): Promise<Credentials>;
  /** Resolves once no call is in flight. */
  settled(): Promise<void>;
}

/**
 * Credentials are held in memory while more than the margin remains, where the margin is the cache's rule
 * (`marginFor(lifetime)`: lib/cache/store.ts `effectiveMarginMs`) applied to the session's lifetime —
 * expiration minus `issuedAt` (the cache entry's, for credentials read from the cache; otherwise when they
 * arrived) — so memory and cache agree on when a session is due. A failed call is not remembered: the next
 * request tries again.
 */
export function sharedCredentials(
  call: () => Promise<Credentials>,
  clock: () => number,
  marginFor: (lifetimeMs: number) => number,
): SharedCredentials {
  let kept: { credentials: Credentials; refreshAt: number } | undefined;
  let inFlight: Promise<Credentials> | undefined;
  const held = () => kept !== undefined && clock() < kept.refreshAt ? kept.credentials : undefined;
  return {
    held,
    get() {
      const now = held();
      if (now !== undefined) return Promise.resolve(now);
      inFlight ??= call().then(
        (credentials) => {
          const expires = credentials.expiration?.getTime();
          const issued = credentials.issuedAt?.getTime() ?? clock();
          kept = expires === undefined
            ? undefined
            : { credentials, refreshAt: expires - marginFor(expires - issued) };
          inFlight = undefined;
          return credentials;
        },
        (e) => {
          inFlight = undefined;
          throw e;
        },
      );
      return inFlight;
    },
    async settled() {
      await inFlight?.catch(() => {});
    },
  };
}
