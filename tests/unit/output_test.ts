import assert from "node:assert/strict";
import { formatExpiration, processDocument, render } from "../../lib/output.ts";

const creds = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE01",
  secretAccessKey: "se/cr+et",
  sessionToken: "to/ken==",
  expiration: new Date("2026-11-25T19:45:12.999Z"),
};

Deno.test("Expiration: UTC, literal Z, whole seconds rounded down", () => {
  assert.equal(formatExpiration(new Date("2026-11-25T19:45:12.999Z")), "2026-11-25T19:45:12Z");
  assert.equal(formatExpiration(new Date("2026-11-25T19:45:12Z")), "2026-11-25T19:45:12Z");
  assert.equal(formatExpiration(new Date("2026-11-25T21:45:12.5+02:00")), "2026-11-25T19:45:12Z");
});

Deno.test("process document is byte-identical to jq's output", () => {
  assert.equal(
    processDocument(creds),
    `{
  "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
  "SecretAccessKey": "se/cr+et",
  "SessionToken": "to/ken==",
  "Expiration": "2026-11-25T19:45:12Z",
  "Version": 1
}
`,
  );
  assert.equal(render(creds, "process"), processDocument(creds));
});

Deno.test("process document without token or expiration omits the keys", () => {
  assert.equal(
    processDocument({ accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s" }),
    '{\n  "AccessKeyId": "AKIAEXAMPLE",\n  "SecretAccessKey": "s",\n  "Version": 1\n}\n',
  );
});

Deno.test("shell formats match aws configure export-credentials", () => {
  const exp = "2026-11-25T19:45:12+00:00";
  assert.equal(
    render(creds, "env"),
    `export AWS_ACCESS_KEY_ID=ASIAEXAMPLEEXAMPLE01\nexport AWS_SECRET_ACCESS_KEY=se/cr+et\nexport AWS_SESSION_TOKEN=to/ken==\nexport AWS_CREDENTIAL_EXPIRATION=${exp}\n`,
  );
  assert.equal(
    render(creds, "env-no-export"),
    `AWS_ACCESS_KEY_ID=ASIAEXAMPLEEXAMPLE01\nAWS_SECRET_ACCESS_KEY=se/cr+et\nAWS_SESSION_TOKEN=to/ken==\nAWS_CREDENTIAL_EXPIRATION=${exp}\n`,
  );
  assert.equal(
    render(creds, "powershell"),
    `$Env:AWS_ACCESS_KEY_ID="ASIAEXAMPLEEXAMPLE01"\n$Env:AWS_SECRET_ACCESS_KEY="se/cr+et"\n$Env:AWS_SESSION_TOKEN="to/ken=="\n$Env:AWS_CREDENTIAL_EXPIRATION="${exp}"\n`,
  );
  assert.equal(
    render(creds, "windows-cmd"),
    `set AWS_ACCESS_KEY_ID=ASIAEXAMPLEEXAMPLE01\nset AWS_SECRET_ACCESS_KEY=se/cr+et\nset AWS_SESSION_TOKEN=to/ken==\nset AWS_CREDENTIAL_EXPIRATION=${exp}\n`,
  );
});

Deno.test("--include-account-id: AccountId is the last key, AWS_ACCOUNT_ID the last line; nothing without it", () => {
  const withAccount = { ...creds, accountId: "123456789012" };
  assert.equal(render(withAccount, "process"), render(creds, "process")); // the flag, not the data, decides
  assert.equal(
    render(withAccount, "process", true),
    `{
  "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
  "SecretAccessKey": "se/cr+et",
  "SessionToken": "to/ken==",
  "Expiration": "2026-11-25T19:45:12Z",
  "Version": 1,
  "AccountId": "123456789012"
}
`,
  );
  assert.equal(
    render(withAccount, "env", true),
    "export AWS_ACCESS_KEY_ID=ASIAEXAMPLEEXAMPLE01\nexport AWS_SECRET_ACCESS_KEY=se/cr+et\n" +
      "export AWS_SESSION_TOKEN=to/ken==\nexport AWS_CREDENTIAL_EXPIRATION=2026-11-25T19:45:12+00:00\n" +
      "export AWS_ACCOUNT_ID=123456789012\n",
  );
  assert.ok(render(withAccount, "windows-cmd", true).endsWith("set AWS_ACCOUNT_ID=123456789012\n"));
  assert.equal(render(creds, "process", true), render(creds, "process")); // no account known: nothing added
});
