/**
 * Where an MFA code comes from: `--token-code`, then CREDPROC_MFA_TOKEN_CODE, then a prompt on the
 * controlling terminal (`prompt`, injected), else a clear error. One code is asked for once per serial.
 */
import { MfaError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { MFA_ENV } from "../model.ts";
import { MFA_CODE } from "../validate.ts";

/** Returns a 6-digit code for an MFA device. */
export type MfaCodeSource = (serialNumber: string) => Promise<string>;

/** Asks a person for a code; resolves `undefined` when there is no terminal to ask on. */
export type MfaPrompt = (serialNumber: string, timeoutMs: number) => Promise<string | undefined>;

/** Builds the code source. */
export function createMfaCodeSource(opts: {
  tokenCode?: string;
  envCode?: string;
  prompt?: MfaPrompt;
  timeoutMs: number;
  log: Logger;
  /**
   * The command that warms the cache from a terminal, for the hint when there is none (SDKs such as the JS v3
   * `fromProcess` give credential_process no terminal); undefined when the cache is off.
   */
  warmCommand?: string;
  /** Whether the call uses `--mfa-session` (then one code serves every role until the session nears its end). */
  mfaSession?: boolean;
}): MfaCodeSource {
  const asked = new Map<string, Promise<string>>();
  return (serial) => {
    let code = asked.get(serial);
    if (!code) {
      code = obtain(serial);
      asked.set(serial, code);
    }
    return code;
  };

  async function obtain(serial: string): Promise<string> {
    if (opts.tokenCode !== undefined) return opts.tokenCode;
    if (opts.envCode !== undefined && opts.envCode !== "") {
      if (!MFA_CODE.test(opts.envCode)) throw new MfaError(MFA_ENV, "must be 6 digits");
      opts.log.secret(opts.envCode);
      return opts.envCode;
    }
    const typed = opts.prompt ? await opts.prompt(serial, opts.timeoutMs) : undefined;
    if (typed === undefined) {
      throw new MfaError(`MFA code for ${serial}`, "no code given and no terminal to ask on", {
        hint: opts.warmCommand === undefined
          ? `pass --token-code CODE or set ${MFA_ENV}`
          : opts.mfaSession
          ? `run \`${opts.warmCommand}\` once in a terminal: the MFA session it caches then serves every SDK`
          : `run \`${opts.warmCommand}\` once in a terminal (with --mfa-session one code serves up to 12 h), or set ${MFA_ENV}`,
      });
    }
    const code = typed.trim();
    if (!MFA_CODE.test(code)) throw new MfaError(`MFA code for ${serial}`, "must be 6 digits");
    return code;
  }
}
