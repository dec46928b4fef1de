import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  hostKeyPolicy,
  type HostKeySettings,
  parseAuthorizedKey,
  sshFingerprint,
} from "./_known_hosts.ts";

// Two ed25519 keys made with ssh-keygen, their fingerprints as
// `ssh-keygen -lf` printed them, and a line `ssh-keygen -H` hashed for
// "[db.example.com]:2222" with the first key.
const KEY_A =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMznqHm6bNaMsSy2JM7nQQkZhr+EseHpGkysdCJs+qmQ";
const FINGERPRINT_A = "SHA256:QoaRYO0u+L+JNe+VaGu1EEdp0bxyqEvvvB2lZYBm6ZM";
const KEY_B =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnoEYhCbIXlAMwS66TGj2M6CfRXG3sCN0lNRYJy+/Sm";
const FINGERPRINT_B = "SHA256:qdq7O6w88NFW4Se4UfXR4u8GGlrL5UTDyO6PxAmiUpI";
const HASHED_A =
  `|1|Qd2Tql7NvkDVkbwpKjgb6XauzTM=|tvNuTcLbchzH+1moGVYXcIDlpPo= ${KEY_A}`;

const blob = (line: string) => Buffer.from(line.split(" ")[1], "base64");

/** The host key settings of an `sftp://` URL, as the SFTP client reads them. */
function settings(url: string): HostKeySettings {
  const u = new URL(url);
  const s: HostKeySettings = {
    host: u.hostname,
    port: u.port === "" ? 22 : Number(u.port),
    knownHosts: ["/home/me/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"],
    skipVerify: u.searchParams.get("skip-verify") === "true",
  };
  const hostKey = u.searchParams.get("host-key");
  if (hostKey !== null) s.hostKey = hostKey;
  return s;
}

Deno.test("parseAuthorizedKey() wants a key whose blob names its type", () => {
  assert.equal(parseAuthorizedKey(KEY_A)?.type, "ssh-ed25519");
  assert.ok(parseAuthorizedKey(KEY_A)?.blob.equals(blob(KEY_A)));
  assert.equal(parseAuthorizedKey("nonsense"), undefined);
  assert.equal(
    parseAuthorizedKey(`ssh-rsa ${KEY_A.split(" ")[1]}`),
    undefined,
  );
});

Deno.test("sshFingerprint() matches ssh-keygen -l", () => {
  assert.equal(sshFingerprint(blob(KEY_A)), FINGERPRINT_A);
  assert.equal(sshFingerprint(blob(KEY_B)), FINGERPRINT_B);
});

function policy(url: string, knownHosts: string) {
  const s = settings(url);
  return hostKeyPolicy(s, new Map([[s.knownHosts[0], knownHosts]]));
}

Deno.test("hostKeyPolicy() accepts keys known_hosts lists for the host, plain, bracketed, hashed or by pattern", () => {
  assert.equal(
    policy("sftp://me@db.example.com/x", `db.example.com ${KEY_A}\n`)
      .check(blob(KEY_A)),
    undefined,
  );
  // A port other than 22 goes by "[host]:port".
  assert.equal(
    policy("sftp://me@db.example.com:2222/x", `[db.example.com]:2222 ${KEY_A}`)
      .check(blob(KEY_A)),
    undefined,
  );
  assert.equal(
    policy("sftp://me@db.example.com:2222/x", HASHED_A).check(blob(KEY_A)),
    undefined,
  );
  assert.match(
    policy("sftp://me@db.example.com:2223/x", HASHED_A).check(blob(KEY_A))!,
    /is not known/,
  );
  assert.equal(
    policy("sftp://me@db.example.com/x", `other,*.example.com ${KEY_A}`)
      .check(blob(KEY_A)),
    undefined,
  );
  // A negated pattern excludes the host.
  assert.match(
    policy(
      "sftp://me@db.example.com/x",
      `*.example.com,!db.example.com ${KEY_A}`,
    ).check(blob(KEY_A))!,
    /is not known/,
  );
  // The known key types are offered first.
  assert.deepEqual(
    policy("sftp://me@db.example.com/x", `db.example.com ${KEY_A}`).preferred,
    ["ssh-ed25519"],
  );
});

Deno.test("hostKeyPolicy() refuses unknown, changed and revoked keys, saying what to do", () => {
  const unknown = policy("sftp://me@host:2222/x", `other ${KEY_A}`)
    .check(blob(KEY_B))!;
  assert.match(unknown, /^SFTP host key of "\[host\]:2222" is not known/);
  assert.ok(unknown.includes(`ED25519 key ${FINGERPRINT_B}`), unknown);
  assert.ok(unknown.includes(`"[host]:2222 ${KEY_B}"`), unknown);
  assert.match(unknown, /skip-verify=true/);
  assert.match(unknown, /ssh-keyscan -p 2222 host/);
  const changed = policy("sftp://me@host/x", `# c\nhost ${KEY_A}`)
    .check(blob(KEY_B))!;
  assert.match(changed, /has CHANGED/);
  assert.ok(changed.includes(FINGERPRINT_A) && changed.includes(FINGERPRINT_B));
  assert.match(changed, /line 2/);
  assert.match(changed, /ssh-keygen -R "host"/);
  const revoked = policy(
    "sftp://me@host/x",
    `@revoked * ${KEY_A}\nhost ${KEY_A}`,
  ).check(blob(KEY_A))!;
  assert.match(revoked, /is revoked/);
});

Deno.test("hostKeyPolicy() with host-key accepts that key only; skip-verify accepts any", () => {
  const pinned = hostKeyPolicy(
    settings(`sftp://me@host/x?host-key=${encodeURIComponent(KEY_A)}`),
    new Map(),
  );
  assert.equal(pinned.check(blob(KEY_A)), undefined);
  assert.match(pinned.check(blob(KEY_B))!, /does not match host-key/);
  const skip = hostKeyPolicy(
    settings("sftp://me@host/x?skip-verify=true"),
    new Map(),
  );
  assert.equal(skip.check(blob(KEY_B)), undefined);
});
