/**
 * SSH host keys: `authorized_keys`-style key lines, OpenSSH fingerprints,
 * known_hosts files (plain, wildcard, negated and hashed host patterns,
 * `@revoked` and `@cert-authority` markers) and the check of the key a
 * server shows, with messages that say what to do.
 *
 * @module
 */

import { createHash, createHmac } from "node:crypto";
import { Buffer } from "node:buffer";

/** SSH's port, which known_hosts names leave out. */
const SSH_PORT = 22;

/** What decides how a server's host key is checked. */
export interface HostKeySettings {
  /** Host name or address (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
  /** The one host key to accept, as an `authorized_keys` line. */
  hostKey?: string;
  /** known_hosts files to check the host key against, in order. */
  knownHosts: string[];
  /** Accept any host key. */
  skipVerify: boolean;
}

/** The type and blob of an `authorized_keys`-style line, or undefined. */
export function parseAuthorizedKey(
  line: string,
): { type: string; blob: Buffer } | undefined {
  const [type, data] = line.trim().split(/\s+/);
  if (type === undefined || data === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return undefined;
  const blob = Buffer.from(data, "base64");
  return keyType(blob) === type ? { type, blob } : undefined;
}

/** The key type a public key blob starts with ("" if malformed). */
function keyType(blob: Uint8Array): string {
  if (blob.length < 4) return "";
  const n = new DataView(blob.buffer, blob.byteOffset, blob.length)
    .getUint32(0);
  if (4 + n > blob.length) return "";
  return new TextDecoder().decode(blob.subarray(4, 4 + n));
}

/**
 * A public key's fingerprint as OpenSSH prints it: `SHA256:` and the
 * unpadded base64 of the SHA-256 of the key blob.
 *
 * @param blob The public key in SSH wire format.
 * @returns The fingerprint.
 *
 * @example Fingerprint of a key
 * ```ts
 * import { sshFingerprint } from "./_known_hosts.ts";
 * import assert from "node:assert/strict";
 * assert.match(sshFingerprint(new Uint8Array(51)), /^SHA256:[A-Za-z0-9+/]{43}$/);
 * ```
 */
export function sshFingerprint(blob: Uint8Array): string {
  const digest = createHash("sha256").update(blob).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** How OpenSSH names a key type in messages: "ED25519", "RSA", "ECDSA". */
function typeLabel(type: string): string {
  if (type === "ssh-ed25519") return "ED25519";
  if (type === "ssh-rsa") return "RSA";
  if (type.startsWith("ecdsa-")) return "ECDSA";
  if (type === "ssh-dss") return "DSA";
  return type;
}

/** One line of a known_hosts file. */
interface KnownHost {
  file: string;
  line: number;
  marker?: "revoked" | "cert-authority";
  patterns: string[];
  type: string;
  blob: Buffer;
}

/**
 * Parses a known_hosts file (OpenSSH's sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT"): plain, wildcard, negated and hashed host patterns, and the
 * `@revoked` and `@cert-authority` markers. Malformed lines are skipped.
 */
function parseKnownHosts(text: string, file: string): KnownHost[] {
  const entries: KnownHost[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0].startsWith("#")) continue;
    let marker: KnownHost["marker"];
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") {
      marker = fields.shift()!.slice(1) as KnownHost["marker"];
    } else if (fields[0].startsWith("@")) continue;
    const [hosts, type, data] = fields;
    if (data === undefined) continue;
    const key = parseAuthorizedKey(`${type} ${data}`);
    if (key === undefined) continue;
    entries.push({
      file,
      line: i + 1,
      marker,
      patterns: hosts.split(","),
      type,
      blob: key.blob,
    });
  }
  return entries;
}

/** OpenSSH's `*` and `?` host patterns. */
function globMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}

/** Whether a known_hosts line's host patterns name `name`. */
function hostMatches(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith("|1|")) {
      const [, , salt, hash] = pattern.split("|");
      if (salt === undefined || hash === undefined) continue;
      const mac = createHmac("sha1", Buffer.from(salt, "base64"))
        .update(name).digest("base64");
      if (mac === hash) matched = true;
    } else if (pattern.startsWith("!")) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) matched = true;
  }
  return matched;
}

/** The name a host goes by in known_hosts: `host`, or `[host]:port`. */
function knownHostsName(host: string, port: number): string {
  return port === SSH_PORT ? host : `[${host}]:${port}`;
}

/** Host key algorithms (ssh2 names) that use keys of each type. */
const HOST_KEY_ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

/** What decides whether a server's host key is accepted. */
export interface HostKeyPolicy {
  /**
   * Host key algorithms to offer first: those of the keys on record for
   * the host, so that the server shows one of them (as OpenSSH does).
   */
  readonly preferred: readonly string[];
  /**
   * Checks the key the server showed.
   *
   * @param blob The host key in SSH wire format.
   * @returns undefined when accepted, else why not, with what to do.
   */
  check(blob: Uint8Array): string | undefined;
}

/**
 * The host key check of a connection: the pinned `host-key` if any, else
 * the known_hosts files (missing ones count as empty), else none with
 * `skip-verify`.
 *
 * @param settings The connection's settings.
 * @param files The contents of the known_hosts files that exist, by path.
 * @returns The policy.
 *
 * @example An unknown host is refused with its fingerprint
 * ```ts
 * import { hostKeyPolicy } from "./_known_hosts.ts";
 * import assert from "node:assert/strict";
 * const policy = hostKeyPolicy({
 *   host: "host",
 *   port: 22,
 *   knownHosts: ["/home/me/.ssh/known_hosts"],
 *   skipVerify: false,
 * }, new Map());
 * const blob = new Uint8Array([0, 0, 0, 11, ...new TextEncoder().encode("ssh-ed25519"), 0, 0, 0, 32, ...new Uint8Array(32)]);
 * assert.match(policy.check(blob)!, /is not known.*SHA256:/);
 * ```
 */
export function hostKeyPolicy(
  settings: HostKeySettings,
  files: ReadonlyMap<string, string>,
): HostKeyPolicy {
  const name = knownHostsName(settings.host, settings.port);
  const where = `SFTP host key of "${name}"`;
  const line = (blob: Uint8Array) =>
    `${name} ${keyType(blob)} ${Buffer.from(blob).toString("base64")}`;
  const shown = (blob: Uint8Array) =>
    `${typeLabel(keyType(blob))} key ${sshFingerprint(blob)}`;
  if (settings.skipVerify) return { preferred: [], check: () => undefined };
  if (settings.hostKey !== undefined) {
    const pinned = parseAuthorizedKey(settings.hostKey)!;
    return {
      preferred: HOST_KEY_ALGORITHMS[pinned.type] ?? [],
      check: (blob) =>
        pinned.blob.equals(blob)
          ? undefined
          : `${where} does not match host-key (${
            shown(pinned.blob)
          }): the server showed ${
            shown(blob)
          }; if the server's key was replaced, set host-key to "${
            line(blob).slice(name.length + 1)
          }"`,
    };
  }
  const entries = [...files].flatMap(([file, text]) =>
    parseKnownHosts(text, file)
  ).filter((e) => hostMatches(e.patterns, name));
  const trusted = entries.filter((e) => e.marker === undefined);
  const preferred = [
    ...new Set(trusted.flatMap((e) => HOST_KEY_ALGORITHMS[e.type] ?? [])),
  ];
  const userFile = settings.knownHosts[0] ?? "~/.ssh/known_hosts";
  return {
    preferred,
    check(blob) {
      const revoked = entries.find((e) =>
        e.marker === "revoked" && e.blob.equals(blob)
      );
      if (revoked !== undefined) {
        return `${where} is revoked (${
          shown(blob)
        }, "${revoked.file}" line ${revoked.line}): the server must get a new key`;
      }
      if (trusted.some((e) => e.blob.equals(blob))) return undefined;
      if (trusted.length > 0) {
        const old = trusted.find((e) => e.type === keyType(blob)) ??
          trusted[0];
        return `${where} has CHANGED: the server showed ${
          shown(blob)
        }, but "${old.file}" line ${old.line} has ${
          shown(old.blob)
        } (someone may be intercepting the connection); if the key was replaced on purpose, remove the old one with \`ssh-keygen -R "${name}" -f ${old.file}\` and add the line "${
          line(blob)
        }"`;
      }
      return `${where} is not known (${shown(blob)}; known_hosts: ${
        settings.knownHosts.map((f) => `"${f}"`).join(", ")
      }): check the fingerprint with the server's administrator, then trust it by adding the line "${
        line(blob)
      }" to ${userFile} (or \`ssh-keyscan -p ${settings.port} ${settings.host} >> ${userFile}\`), or pin it with host-key=, or turn checking off with skip-verify=true (insecure)`;
    },
  };
}
