/**
 * Test harness for the `sftp://` backend: Debian's OpenSSH server
 * (`openssh-server`), started by the tests on 127.0.0.1 on a free port,
 * with everything in a temp folder: its config, a generated ed25519 host
 * key, two user keys (one authorized, one not), a known_hosts file that
 * trusts the host key, and the replicas' data. It serves SFTP with
 * `internal-sftp` and logs to stderr, which is kept for the tests to read
 * (`Accepted publickey for root`...).
 *
 * The tests run as root, so the server logs root in. For a password test
 * without touching the machine's accounts, sshd runs in a mount namespace
 * of its own (`unshare --mount`) where `/etc/shadow` and `/etc/passwd` are
 * bind-mounted copies: root has a random password there, and a home
 * directory in the temp folder (where Litestream's VFS puts a replica: it
 * takes the URL's path relative to the home directory). Nothing outside
 * the namespace changes.
 *
 * Nothing is installed here: Debian `openssh-server` (sshd), `openssh-client`
 * (ssh-keygen), `openssl` (the password hash) and `util-linux` (unshare)
 * must be there; {@linkcode SSHD_PATH} and its siblings say where.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { join } from "node:path";
import ssh2 from "ssh2";
import { forEachFile } from "./_files.ts";
import { freePort } from "./_servers.ts";

/** OpenSSH's server (Debian `openssh-server`). */
export const SSHD_PATH = "/usr/sbin/sshd";
/** OpenSSH's key generator (Debian `openssh-client`). */
export const SSH_KEYGEN_PATH = "/usr/bin/ssh-keygen";
/** For the password hash of the namespace's root (Debian `openssl`). */
export const OPENSSL_PATH = "/usr/bin/openssl";
/** For the server's mount namespace (Debian `util-linux`). */
export const UNSHARE_PATH = "/usr/bin/unshare";

/** A running OpenSSH server. */
export interface SshServer extends AsyncDisposable {
  /** `127.0.0.1`. */
  readonly host: string;
  /** The port it listens on (kept across {@linkcode SshServer.restart}). */
  readonly port: number;
  /** The user tests log in as (`root`). */
  readonly user: string;
  /** The user's password inside the server's namespace. */
  readonly password: string;
  /** The temp folder with everything. */
  readonly dir: string;
  /** Where replicas go: `<dir>/data`. */
  readonly dataDir: string;
  /** The user's home directory, as the server sees it: `<dir>/home`. */
  readonly homeDir: string;
  /** A private key the server accepts. */
  readonly keyPath: string;
  /** A private key the server does not accept. */
  readonly otherKeyPath: string;
  /** A known_hosts file that trusts the server's host key. */
  readonly knownHostsPath: string;
  /** The host key, as an `authorized_keys` line (`ssh-ed25519 AAAA...`). */
  readonly hostPublicKey: string;
  /** The host key's fingerprint as `ssh-keygen -l` prints it (`SHA256:...`). */
  readonly hostFingerprint: string;
  /** What the server logged so far. */
  log(): string;
  /** Process ids of the server's per-connection processes. */
  sessions(): number[];
  /**
   * Kills every connection's processes (the listener stays): what a
   * network cut or a server-side timeout does to a client.
   *
   * @returns How many connections there were.
   */
  dropConnections(): Promise<number>;
  /** Stops the server (and its connections), leaving the folder. */
  stop(): Promise<void>;
  /** Starts it again after {@linkcode SshServer.stop}, same port and keys. */
  start(): Promise<void>;
  /** {@linkcode SshServer.stop}, then {@linkcode SshServer.start}. */
  restart(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

async function keygen(path: string): Promise<void> {
  await run(SSH_KEYGEN_PATH, ["-q", "-t", "ed25519", "-N", "", "-f", path]);
}

/** Children of a process, and theirs, from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid ...: comm may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry.name)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

function kill(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Starts OpenSSH's server on 127.0.0.1 with generated keys in a new temp
 * folder.
 *
 * @returns The running server; dispose of it to stop it and remove the folder.
 */
export async function startSshServer(): Promise<SshServer> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-sshd-" });
  const dataDir = join(dir, "data");
  const homeDir = join(dir, "home");
  await Deno.mkdir(dataDir);
  await Deno.mkdir(homeDir);
  const hostKey = join(dir, "host_key");
  const keyPath = join(dir, "user_key");
  const otherKeyPath = join(dir, "other_key");
  await Promise.all([keygen(hostKey), keygen(keyPath), keygen(otherKeyPath)]);
  await Deno.copyFile(`${keyPath}.pub`, join(dir, "authorized_keys"));
  const hostPublicKey = (await Deno.readTextFile(`${hostKey}.pub`)).trim()
    .split(/\s+/).slice(0, 2).join(" ");
  const hostFingerprint = (await run(SSH_KEYGEN_PATH, ["-lf", hostKey]))
    .split(/\s+/)[1];
  const port = freePort();
  const knownHostsPath = join(dir, "known_hosts");
  await Deno.writeTextFile(
    knownHostsPath,
    `[127.0.0.1]:${port} ${hostPublicKey}\n`,
  );
  // The namespace's accounts: root with a password and a home in `dir`.
  const password = crypto.randomUUID();
  const hash = (await run(OPENSSL_PATH, ["passwd", "-6", password])).trim();
  const account = (file: string, edit: (fields: string[]) => void) =>
    Deno.readTextFileSync(file).split("\n").map((line) => {
      const fields = line.split(":");
      if (fields[0] === "root") edit(fields);
      return fields.join(":");
    }).join("\n");
  const shadow = join(dir, "shadow");
  const passwd = join(dir, "passwd");
  await Deno.writeTextFile(
    shadow,
    account("/etc/shadow", (f) => f[1] = hash),
    { mode: 0o600 },
  );
  await Deno.writeTextFile(
    passwd,
    account("/etc/passwd", (f) => f[5] = homeDir),
    { mode: 0o644 },
  );
  const config = join(dir, "sshd_config");
  await Deno.writeTextFile(
    config,
    [
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PidFile none",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin yes",
      "PasswordAuthentication yes",
      "KbdInteractiveAuthentication no",
      "MaxStartups 64",
      "MaxSessions 64",
      "UseDNS no",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  await Deno.mkdir("/run/sshd", { recursive: true });

  let log = "";
  let child: Deno.ChildProcess | undefined;
  let drained: Promise<void> = Promise.resolve();
  const start = async () => {
    const script = `mount --bind '${shadow}' /etc/shadow && ` +
      `mount --bind '${passwd}' /etc/passwd && ` +
      `exec '${SSHD_PATH}' -D -e -f '${config}' -p ${port}`;
    const proc = new Deno.Command(UNSHARE_PATH, {
      args: ["--mount", "--propagation", "private", "sh", "-c", script],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    child = proc;
    const { promise: ready, resolve: listening } = Promise.withResolvers<
      void
    >();
    drained = (async () => {
      for await (
        const text of proc.stderr.pipeThrough(new TextDecoderStream())
      ) {
        log += text;
        if (log.includes(`listening on 127.0.0.1 port ${port}`)) listening();
      }
    })();
    const exited = proc.status.then((s) => s);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) =>
      timer = setTimeout(() => r("timeout"), 10_000)
    );
    const outcome = await Promise.race([
      ready.then(() => "ready" as const),
      exited,
      timeout.then((t) => t),
    ]);
    clearTimeout(timer);
    if (outcome !== "ready") {
      if (outcome === "timeout") proc.kill("SIGKILL");
      await proc.status;
      await drained;
      child = undefined;
      throw new Error(`sshd did not start on port ${port}: ${log}`);
    }
  };
  const stop = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    kill(descendants(proc.pid));
    proc.kill("SIGKILL");
    await proc.status;
    await drained;
  };
  await start();
  const server: SshServer = {
    host: "127.0.0.1",
    port,
    user: "root",
    password,
    dir,
    dataDir,
    homeDir,
    keyPath,
    otherKeyPath,
    knownHostsPath,
    hostPublicKey,
    hostFingerprint,
    log: () => log,
    sessions: () => child === undefined ? [] : descendants(child.pid),
    async dropConnections() {
      if (child === undefined) return 0;
      const { pid } = child;
      const direct = descendants(pid).filter((p) => {
        try {
          const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
          return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) ===
            pid;
        } catch {
          return false;
        }
      });
      kill(descendants(pid));
      // Wait until they are gone, so that the test sees the drop.
      const deadline = Date.now() + 5_000;
      while (direct.some((p) => existsProc(p)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      return direct.length;
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return server;
}

function existsProc(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // A zombie is as good as gone.
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The ssh2 calls the upload uses. */
interface UploadSession {
  mkdir(path: string, cb: (error?: { code?: number }) => void): void;
  writeFile(path: string, data: Uint8Array, cb: (error?: Error) => void): void;
  end(): void;
}

/**
 * Copies a local folder into the server over SFTP (npm `ssh2`, the key
 * login), making directories as needed and replacing files that exist.
 *
 * @param server The server.
 * @param local The folder to copy (a replica: the one that holds `ltx/`).
 * @param remote The absolute path to copy it to.
 * @returns The number of files copied.
 */
export async function uploadOverSftp(
  server: SshServer,
  local: string,
  remote: string,
): Promise<number> {
  const { Client } = ssh2 as unknown as {
    Client: new () => {
      on(event: string, cb: (arg?: unknown) => void): void;
      connect(config: Record<string, unknown>): void;
      sftp(cb: (error: Error | undefined, sftp: UploadSession) => void): void;
      end(): void;
    };
  };
  const client = new Client();
  const closed = new Promise<void>((r) => client.on("close", () => r()));
  const sftp = await new Promise<UploadSession>((resolve, reject) => {
    client.on("error", (e) => reject(e));
    client.on(
      "ready",
      () => client.sftp((error, s) => error ? reject(error) : resolve(s)),
    );
    client.connect({
      host: server.host,
      port: server.port,
      username: server.user,
      privateKey: Buffer.from(Deno.readFileSync(server.keyPath)),
      hostVerifier: (key: Uint8Array) =>
        Buffer.from(key).toString("base64") ===
          server.hostPublicKey.split(" ")[1],
    });
  });
  const call = (f: (cb: (error?: Error | { code?: number }) => void) => void) =>
    new Promise<Error | { code?: number } | undefined>((r) => f((e) => r(e)));
  const made = new Set<string>();
  const mkdirs = async (dir: string) => {
    const parts = dir.split("/").filter((p) => p !== "");
    for (let i = 1; i <= parts.length; i++) {
      const path = `/${parts.slice(0, i).join("/")}`;
      if (made.has(path)) continue;
      await call((cb) => sftp.mkdir(path, cb)); // Exists: fine.
      made.add(path);
    }
  };
  try {
    return await forEachFile(local, async (file) => {
      const target = `${remote}/${file.relative}`;
      await mkdirs(target.slice(0, target.lastIndexOf("/")));
      const error = await call((cb) =>
        sftp.writeFile(target, Buffer.from(Deno.readFileSync(file.path)), cb)
      );
      if (error) throw error;
    });
  } finally {
    sftp.end();
    client.end();
    await closed;
  }
}
