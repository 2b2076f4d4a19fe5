/**
 * A throw-away Dovecot IMAP server for one test file: its own config, runtime, state, log and
 * Maildir in a temporary directory, on 127.0.0.1 at a free port, one mail user with a generated
 * password (passwd-file, plaintext allowed: loopback only, no TLS). The system's Dovecot service
 * is never used. `scripts/test.sh` installs Dovecot (Debian's dovecot-imapd) when it is missing.
 *
 * As root, mail is stored as `nobody` (Dovecot refuses uid 0 for mail users); otherwise as the
 * user running the tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { exited, stopChild } from '../../scripts/child-process';
import { freePort } from '../../scripts/temporal-server';

export interface TestDovecot {
  host: string;
  port: number;
  user: string;
  password: string;
  /** A file holding the password (for IMAP_PASSWORD_FILE). */
  passwordFile: string;
  /** Appends a message with the given INTERNALDATE (the arrival time); creates the folder if needed. */
  append(folder: string, raw: Buffer | string, internalDate: Date): Promise<{ uid: number; uidValidity: bigint }>;
  /** Deletes the folder: appending to it again creates it with a new UIDVALIDITY. */
  deleteFolder(folder: string): Promise<void>;
  /** Dovecot's own log so far. */
  log(): string;
  stop(): Promise<void>;
}

const DOVECOT = process.env.DOVECOT_PATH ?? '/usr/sbin/dovecot';
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function idOf(flag: '-u' | '-g', name: string): number {
  const out = spawnSync('id', [flag, name], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`no system user ${name} for Dovecot's mail`);
  return Number(out.stdout.trim());
}

function config(dir: string, port: number, mailUser: { uid: number; gid: number; name: string }): string {
  const asRoot = process.getuid?.() === 0;
  return `# A test's own Dovecot (test/support/dovecot.ts)
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = ${Math.min(mailUser.uid, 500)}
first_valid_gid = ${Math.min(mailUser.gid, 500)}
${asRoot ? '' : `default_internal_user = ${mailUser.name}\ndefault_login_user = ${mailUser.name}\n`}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${mailUser.uid} gid=${mailUser.gid} home=${dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startDovecot(): Promise<TestDovecot> {
  if (!fs.existsSync(DOVECOT)) {
    throw new Error(
      `Dovecot is needed for the e-mail intake tests: apt-get install dovecot-imapd (or set DOVECOT_PATH)`,
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dovecot-test-'));
  // The mail user (not root) must pass through to its home.
  fs.chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const mailUser = asRoot
    ? { name: 'nobody', uid: idOf('-u', 'nobody'), gid: idOf('-g', 'nobody') }
    : { name: os.userInfo().username, uid: os.userInfo().uid, gid: os.userInfo().gid };
  for (const sub of ['run', 'state', 'home']) fs.mkdirSync(path.join(dir, sub));
  fs.chownSync(path.join(dir, 'home'), mailUser.uid, mailUser.gid);
  const user = 'office';
  const password = randomBytes(18).toString('base64url');
  fs.writeFileSync(path.join(dir, 'passwd'), `${user}:{PLAIN}${password}::::::\n`, { mode: 0o600 });
  // Dovecot's auth process reads it as its internal user (`dovecot`, which the package creates).
  if (asRoot) fs.chownSync(path.join(dir, 'passwd'), idOf('-u', 'dovecot'), idOf('-g', 'dovecot'));
  const passwordFile = path.join(dir, 'imap-password');
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const port = await freePort();
  const conf = path.join(dir, 'dovecot.conf');
  fs.writeFileSync(conf, config(dir, port, mailUser));

  const child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const log = () => {
    try {
      return fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    await stopChild(child, 'SIGTERM', 5000);
    running.delete(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const startedBy = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (exited(child) || Date.now() > startedBy) {
      await stop();
      throw new Error(`Dovecot did not start on 127.0.0.1:${port}:\n${output}\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const withClient = async <T>(work: (client: ImapFlow) => Promise<T>): Promise<T> => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      auth: { user, pass: password },
      logger: false,
      disableAutoIdle: true,
    });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.logout();
    }
  };

  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    passwordFile,
    append: (folder, raw, internalDate) =>
      withClient(async (client) => {
        if (folder !== 'INBOX' && !(await client.list()).some((box) => box.path === folder)) {
          await client.mailboxCreate(folder);
        }
        const appended = await client.append(folder, raw, [], internalDate);
        if (!appended || appended.uid === undefined || appended.uidValidity === undefined) {
          throw new Error('APPEND gave no UID (UIDPLUS)');
        }
        return { uid: appended.uid, uidValidity: appended.uidValidity };
      }),
    deleteFolder: (folder) =>
      withClient(async (client) => {
        await client.mailboxDelete(folder);
      }),
    log,
    stop,
  };
}
