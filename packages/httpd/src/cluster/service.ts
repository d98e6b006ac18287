import type { HttpdConfig } from '../config.js';
import { errorFields, type Logger } from '../log.js';
import { bindListenSocket, type SocketHandle } from './listen-socket.js';
import { removePidFile, writePidFile } from './pid-file.js';
import { dropPrivileges } from './privileges.js';
import { createNotifier, monotonicUsec, type Notifier } from './sd-notify.js';
import { chooseHttpSocket, forgetListenEnv, openInheritedSocket, parseListenFds, type InheritedFd } from './socket-activation.js';
import { forgetUpgradeEnv, parseUpgradeEnv, reportReady, startUpgrade, writeUpgradeStatus, type UpgradeHandoff } from './upgrade.js';

/** Keep-alive clients of the old primary get this long to send one more request (answered with Connection: close). */
export const UPGRADE_IDLE_GRACE_MS = 1000;
/** --upgrade-timeout's default. */
export const DEFAULT_UPGRADE_TIMEOUT_MS = 30_000;

export interface HttpSocket {
  handle: SocketHandle;
  address: string;
  port: number;
  /** The descriptor, passed on to a new primary by an upgrade. */
  fd: InheritedFd;
  source: 'bound' | 'systemd' | 'listen-fd' | 'upgrade';
}

export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where the primary's HTTP socket comes from, in this order: an upgrade's hand-over,
 * `--listen-fd`, systemd's LISTEN_FDS, else it binds --host:--port itself. The
 * variables are removed from the environment so no worker or later primary takes
 * them for its own.
 */
export async function acquireHttpSocket(
  config: HttpdConfig,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<{ socket: HttpSocket; handoff?: UpgradeHandoff; tls?: { handle: SocketHandle; port: number }; adminFd?: number; extraFds?: InheritedFd[] }> {
  const upgrade = parseUpgradeEnv(env);
  const activation = parseListenFds(env, process.pid);
  forgetUpgradeEnv(env);
  forgetListenEnv(env);
  if (upgrade.kind === 'error') throw new ServiceError('HTTPD_BAD_LISTEN_FD', upgrade.message);
  let fds: InheritedFd[] | undefined;
  let source: HttpSocket['source'] = 'bound';
  if (upgrade.kind === 'handoff') {
    fds = upgrade.handoff.fds;
    source = 'upgrade';
  } else if (config.listenFds && config.listenFds.length > 0) {
    fds = config.listenFds.map((fd) => ({ fd, name: 'http' }));
    source = 'listen-fd';
  } else if (activation.kind === 'error') {
    throw new ServiceError('HTTPD_BAD_LISTEN_FD', activation.message);
  } else if (activation.kind === 'fds') {
    fds = activation.fds;
    source = 'systemd';
  }
  const handoff = upgrade.kind === 'handoff' ? upgrade.handoff : undefined;
  if (fds === undefined) {
    const bound = await bindListenSocket(config.host, config.port);
    const fd = (bound.handle as SocketHandle & { fd: number }).fd;
    return { socket: { ...bound, fd: { fd, name: 'http' }, source } };
  }
  const choice = chooseHttpSocket(fds);
  if (choice.kind === 'error') throw new ServiceError('HTTPD_BAD_LISTEN_FD', choice.message);
  // The socket named "https" is the TLS listener's when there is one (--tls-port): served instead of binding that port.
  const https = config.tlsPort !== undefined ? fds.find((f) => f !== choice.fd && f.name === 'https') : undefined;
  // Likewise "admin" for the admin listener, when one is configured.
  const admin = config.admin !== undefined ? fds.find((f) => f !== choice.fd && f.name === 'admin') : undefined;
  // And "listen-N" for the extra [[listen]] entries (cluster/extra-listeners.ts), handed on by an upgrade.
  const extraFds = fds.filter((f) => f !== choice.fd && /^listen-\d+$/.test(f.name) && Number(f.name.slice('listen-'.length)) < (config.extraListeners?.length ?? 0));
  for (const other of fds) {
    if (other !== choice.fd && other !== https && other !== admin && !extraFds.includes(other)) {
      log.log('warn', 'inherited-socket-unused', { fd: other.fd, name: other.name, why: 'served are the socket named "http" (or the only one), and "https"/"admin" when those listeners are configured' });
    }
  }
  const opened = openInheritedSocket(choice.fd.fd);
  const tls = https ? openInheritedSocket(https.fd) : undefined;
  return { socket: { ...opened, fd: choice.fd, source }, handoff, tls, adminFd: admin?.fd, extraFds };
}

/**
 * What a primary does as a system service, around the supervision in primary.ts:
 * privileges, pid file, sd_notify states, and the SIGUSR2 upgrade. Each method is
 * a hook primary.ts calls at one point of its life.
 */
export class ServiceLifecycle {
  private readonly notifier: Notifier;
  private isReady = false;
  private upgrading = false;
  private handedOver = false;

  constructor(
    private readonly config: HttpdConfig,
    private readonly log: Logger,
    private readonly socket: HttpSocket,
    private readonly handoff: UpgradeHandoff | undefined,
  ) {
    this.notifier = createNotifier(log);
  }

  /** After the sockets, before any worker: drop to --user/--group. Throws a PrivilegeError with the message to print. */
  dropPrivileges(): void {
    if (this.config.user === undefined) {
      if (this.config.group !== undefined) throw new ServiceError('HTTPD_PRIVILEGES', '--group needs --user as well');
      return;
    }
    const ids = dropPrivileges(this.config.user, this.config.group);
    this.log.log('info', 'privileges-dropped', { user: this.config.user, uid: ids.uid, gid: ids.gid });
  }

  /** Every worker listens with every vhost loaded (the first time only). */
  ready(workers: number): void {
    if (this.isReady) return;
    this.isReady = true;
    if (this.config.pidFile) {
      try {
        writePidFile(this.config.pidFile);
      } catch (err) {
        this.log.log('error', 'pid-file-failed', { pidFile: this.config.pidFile, ...errorFields(err), what: 'make its directory writable by the user httpd runs as' });
      }
    }
    this.notifier.notify({ READY: 1, MAINPID: process.pid, STATUS: `serving with ${workers} workers` });
    if (this.handoff) {
      this.log.log('info', 'upgrade-ready', { from: this.handoff.fromPid });
      reportReady(this.handoff);
    }
  }

  reloading(): void {
    this.notifier.notify({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec(), MAINPID: process.pid });
  }

  reloaded(): void {
    this.notifier.notify({ READY: 1, MAINPID: process.pid, STATUS: 'reloaded' });
  }

  /** The primary starts draining (SIGTERM, or after handing over to a new primary). */
  stopping(): void {
    // After a hand-over the service goes on in the new primary: STOPPING=1 would tell systemd otherwise.
    if (!this.handedOver) this.notifier.notify({ STOPPING: 1, MAINPID: process.pid });
  }

  /** Just before the primary exits. */
  exiting(): void {
    if (this.config.pidFile) removePidFile(this.config.pidFile);
    this.notifier.close();
  }

  /**
   * SIGUSR2: start a new primary with our socket; once it is ready, `handOver` drains
   * this one. A failure leaves this primary serving, logged with the reason.
   */
  onUpgradeSignal(handOver: () => void, isStopping: () => boolean, otherSockets: InheritedFd[] = []): void {
    if (this.upgrading) {
      // The `httpd upgrade` of the running one is waiting for its outcome: no status for this signal.
      this.log.log('warn', 'upgrade-ignored', { why: 'an upgrade is already running' });
      return;
    }
    if (isStopping() || !this.isReady) {
      const why = isStopping() ? 'this primary is stopping' : 'this primary is not ready yet; send SIGUSR2 again once it is';
      this.log.log('warn', 'upgrade-ignored', { why });
      if (this.config.pidFile) writeUpgradeStatus(this.config.pidFile, { from: process.pid, outcome: 'failed', reason: why });
      return;
    }
    this.upgrading = true;
    this.log.log('info', 'upgrade-starting', { fd: this.socket.fd.fd, command: process.argv.slice(1).join(' ') });
    void startUpgrade([this.socket.fd, ...otherSockets], this.config.upgradeTimeoutMs ?? DEFAULT_UPGRADE_TIMEOUT_MS).then((outcome) => {
      this.upgrading = false;
      if (outcome.ok && isStopping()) {
        // Stopped (SIGTERM) while the new one started: the service is going away, so is the new primary.
        this.log.log('warn', 'upgrade-abandoned', { newPid: outcome.pid, why: 'stopping' });
        process.kill(outcome.pid, 'SIGTERM');
        return;
      }
      if (outcome.ok) {
        this.handedOver = true;
        this.log.log('info', 'upgraded', { newPid: outcome.pid });
        if (this.config.pidFile) writeUpgradeStatus(this.config.pidFile, { from: process.pid, outcome: 'ready', to: outcome.pid });
        handOver();
      } else {
        this.log.log('error', 'upgrade-failed', { newPid: outcome.pid, reason: outcome.reason, what: 'this primary keeps serving; fix the cause and send SIGUSR2 again' });
        if (this.config.pidFile) writeUpgradeStatus(this.config.pidFile, { from: process.pid, outcome: 'failed', to: outcome.pid, reason: outcome.reason });
      }
    });
  }
}
