/** The release version; a test keeps it equal to `version` in deno.json. */
export const VERSION = "0.1.0";
