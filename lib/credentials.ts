/** The credentials shape used everywhere inside credproc (the SDK's `AwsCredentialIdentity`). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When the credentials stop working; absent for long-term keys. */
  readonly expiration?: Date;
}

/** A credential provider in the AWS SDK's style: call it to get credentials. */
export type CredentialProvider = () => Promise<Credentials>;

/** Masks an access key id for logs: the 4-char prefix and last 4 chars stay (`ASIA…WXYZ`). */
export function maskKeyId(accessKeyId: string): string {
  if (accessKeyId.length <= 8) return "****";
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}
