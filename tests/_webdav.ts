/**
 * Test harness for the `webdav://` backend: Debian's Apache (`apache2` with
 * mod_dav and mod_dav_fs) started on 127.0.0.1 with a configuration of its
 * own in a temp folder, serving one data folder at two locations: `/basic`
 * (basic authentication, an htpasswd file made with Apache's `htpasswd`)
 * and `/digest` (digest authentication). Apache honours `If-None-Match: *`
 * (412) and LOCK (class 2), which create-only uploads need.
 *
 * Also Debian's `rclone serve webdav` (basic authentication) over a local
 * folder, for reads: it ignores `If-None-Match` and overwrites, so it is no
 * server for write mode.
 *
 * Nothing is installed here: `apache2`, `apache2-utils` and `rclone` are
 * Debian packages. Run as root, Apache serves as `www-data`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createClient } from "webdav";
import type { BackendHarness } from "./_backend_suite.ts";
import { forEachFile } from "./_files.ts";
import { freePort, stopProcess, waitForPort } from "./_servers.ts";

/** Apache's binary (Debian `apache2`). */
export const APACHE_BIN = "/usr/sbin/apache2";
/** Apache's password file tool (Debian `apache2-utils`). */
export const HTPASSWD_BIN = "/usr/bin/htpasswd";
/** Folder of Apache's loadable modules (Debian `apache2`). */
export const APACHE_MODULES = "/usr/lib/apache2/modules";
/** rclone's binary (Debian `rclone`). */
export const RCLONE_BIN = "/usr/bin/rclone";

/** The user of both locations (and of rclone). */
export const WEBDAV_USER = "lsvfs";
/** The basic-authentication password. */
export const WEBDAV_PASSWORD = "basic-pw-7Hq";
/** The digest-authentication password. */
export const WEBDAV_DIGEST_PASSWORD = "digest-pw-3Kx";
/** The digest realm. */
export const WEBDAV_DIGEST_REALM = "lsvfs-digest";

/** How a URL authenticates: the location it names and where credentials go. */
export type WebDavAuth = "basic" | "digest";

/** A running Apache with WebDAV. */
export interface ApacheServer extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** The folder served, on local disk. */
  readonly dataDir: string;
  /**
   * A replica URL of a path at one location.
   *
   * @param path Path under the location.
   * @param auth The location (default basic).
   * @param credentials Put user and password into the URL (default no).
   */
  url(path: string, auth?: WebDavAuth, credentials?: boolean): string;
  /** Environment with the location's credentials. */
  env(auth?: WebDavAuth): Record<string, string>;
  /** Copies a local folder to a path, over WebDAV (MKCOL, PUT). */
  upload(dir: string, path: string): Promise<number>;
  /** Stops Apache, keeping its data; {@linkcode ApacheServer.start} again. */
  stop(): Promise<void>;
  /** Starts Apache again on the same port. */
  start(): Promise<void>;
}

/** www-data's uid and gid, when running as root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (Deno.uid() !== 0) return undefined;
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .find((l) => l.startsWith("www-data:"));
  if (line === undefined) throw new Error("No www-data user for Apache");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function apacheConfig(root: string, port: number, asRoot: boolean): string {
  const mods = [
    "mpm_event",
    "authz_core",
    "authz_user",
    "authn_core",
    "authn_file",
    "auth_basic",
    "auth_digest",
    "alias",
    "dav",
    "dav_fs",
  ].map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`);
  const location = (name: string, auth: string) => `
Alias /${name} ${root}/data
<Location /${name}>
  DAV On
  ${auth}
  Require valid-user
</Location>`;
  return `ServerRoot ${root}
ServerName 127.0.0.1
PidFile ${root}/run/httpd.pid
DefaultRuntimeDir ${root}/run
Mutex file:${root}/run default
Listen 127.0.0.1:${port}
${asRoot ? "User www-data\nGroup www-data" : ""}
ErrorLog ${root}/error.log
LogLevel warn
${mods.join("\n")}
DAVLockDB ${root}/run/davlock
DocumentRoot ${root}/data
<Directory />
  Require all denied
</Directory>
<Directory ${root}/data>
  Require all granted
</Directory>
${
    location(
      "basic",
      `AuthType Basic\n  AuthName lsvfs\n  AuthBasicProvider file\n  AuthUserFile ${root}/htpasswd`,
    )
  }
${
    location(
      "digest",
      `AuthType Digest\n  AuthName ${WEBDAV_DIGEST_REALM}\n  AuthDigestProvider file\n  AuthUserFile ${root}/htdigest`,
    )
  }
`;
}

/**
 * Starts Apache with WebDAV at `/basic` and `/digest`, on a free port.
 *
 * @returns The running server; dispose of it to stop it and remove its data.
 */
export async function startApache(): Promise<ApacheServer> {
  const root = await Deno.makeTempDir({ prefix: "lsvfs-webdav-" });
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const user = serverUser();
  try {
    await Deno.chmod(root, 0o755);
    for (const d of ["data", "run"]) {
      await Deno.mkdir(join(root, d));
      if (user) await Deno.chown(join(root, d), user.uid, user.gid);
    }
    const htpasswd = await new Deno.Command(HTPASSWD_BIN, {
      args: [
        "-b",
        "-c",
        "-B",
        join(root, "htpasswd"),
        WEBDAV_USER,
        WEBDAV_PASSWORD,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!htpasswd.success) {
      throw new Error(
        `htpasswd failed: ${new TextDecoder().decode(htpasswd.stderr)}`,
      );
    }
    // htdigest only asks interactively: its line is user:realm:MD5(user:realm:password).
    const ha1 = createHash("md5").update(
      `${WEBDAV_USER}:${WEBDAV_DIGEST_REALM}:${WEBDAV_DIGEST_PASSWORD}`,
    ).digest("hex");
    await Deno.writeTextFile(
      join(root, "htdigest"),
      `${WEBDAV_USER}:${WEBDAV_DIGEST_REALM}:${ha1}\n`,
    );
    await Deno.writeTextFile(
      join(root, "httpd.conf"),
      apacheConfig(root, port, user !== undefined),
    );
  } catch (error) {
    await Deno.remove(root, { recursive: true });
    throw error;
  }
  let child: Deno.ChildProcess | undefined;
  const errorLog = () => {
    try {
      return Deno.readTextFileSync(join(root, "error.log")).slice(-2000);
    } catch {
      return "(no error log)";
    }
  };
  const start = async () => {
    const proc = new Deno.Command(APACHE_BIN, {
      args: ["-f", join(root, "httpd.conf"), "-DFOREGROUND"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child = proc;
    try {
      await waitForPort(port, "Apache", { log: errorLog });
    } catch (error) {
      await stopProcess(proc);
      child = undefined;
      throw error;
    }
  };
  const stop = async () => {
    if (child === undefined) return;
    const proc = child;
    child = undefined;
    await stopProcess(proc);
  };
  try {
    await start();
  } catch (error) {
    await Deno.remove(root, { recursive: true });
    throw error;
  }
  const url = (path: string, auth: WebDavAuth = "basic", credentials = false) =>
    `webdav://${
      credentials
        ? `${WEBDAV_USER}:${
          encodeURIComponent(
            auth === "basic" ? WEBDAV_PASSWORD : WEBDAV_DIGEST_PASSWORD,
          )
        }@`
        : ""
    }${host}/${auth}/${path}`;
  return {
    host,
    dataDir: join(root, "data"),
    url,
    env: (auth: WebDavAuth = "basic") => ({
      LITESTREAM_WEBDAV_USERNAME: WEBDAV_USER,
      LITESTREAM_WEBDAV_PASSWORD: auth === "basic"
        ? WEBDAV_PASSWORD
        : WEBDAV_DIGEST_PASSWORD,
    }),
    async upload(local, path) {
      const dav = createClient(`http://${host}/basic`, {
        username: WEBDAV_USER,
        password: WEBDAV_PASSWORD,
      });
      return await forEachFile(
        local,
        async (file) => {
          await dav.putFileContents(
            `/${path}/${file.relative}`,
            Buffer.from(await Deno.readFile(file.path)),
          );
        },
        async (rel) => {
          await dav.createDirectory(`/${path}${rel ? `/${rel}` : ""}`, {
            recursive: true,
          });
        },
      );
    },
    stop,
    start,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** A running `rclone serve webdav` over a local folder. */
export interface RcloneServer extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** The replica URL of a path in the folder, credentials in it. */
  url(path: string): string;
}

/**
 * Starts `rclone serve webdav` over a folder, with basic authentication
 * ({@linkcode WEBDAV_USER}, {@linkcode WEBDAV_PASSWORD}).
 *
 * @param dir The folder to serve (kept when the server stops).
 * @returns The running server; dispose of it to stop it.
 */
export async function startRclone(dir: string): Promise<RcloneServer> {
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const config = await Deno.makeTempFile({ prefix: "lsvfs-rclone-" });
  const child = new Deno.Command(RCLONE_BIN, {
    args: [
      "serve",
      "webdav",
      dir,
      "--addr",
      host,
      "--user",
      WEBDAV_USER,
      "--pass",
      WEBDAV_PASSWORD,
      "--config",
      config,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    await stopProcess(child);
    await Deno.remove(config);
  };
  try {
    await waitForPort(port, "rclone serve webdav");
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host,
    url: (path) => `webdav://${WEBDAV_USER}:${WEBDAV_PASSWORD}@${host}/${path}`,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * The shared suite's harness: Apache's basic-authentication location, with
 * the credentials in the environment (`LITESTREAM_WEBDAV_*`).
 *
 * @returns A harness; dispose of it to stop Apache.
 */
export async function startWebDavHarness(): Promise<BackendHarness> {
  const server = await startApache();
  return {
    name: "WebDAV",
    url: (path) => server.url(path),
    env: server.env(),
    upload: async (dir, path) => {
      await server.upload(dir, path);
    },
    badCredentials: (path) => ({
      url: server.url(path),
      env: { ...server.env(), LITESTREAM_WEBDAV_PASSWORD: "wrong" },
    }),
    // WebDAV has no buckets: a collection that does not exist.
    missingBucket: (path) => server.url(`no-such-collection/${path}`),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}
