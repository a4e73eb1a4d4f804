// The daemon: serves the protocol on the socket, runs installs through the
// InstallRunner, and tells subscribed clients everything that happens.
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { endLeftovers, recordChildrenIn } from '../process/child-record.js';
import { KILL_GRACE_MS } from '../process/run-child.js';
import { IPCModule } from 'node-ipc';
import { configureIpc } from '../protocol/ipc-config.js';
import { PROTOCOL_VERSION, type EventMap, type ReplyEvent, type RequestError, type StatusInfo, type ValidationResult, type CancelEnded } from '../protocol/messages.js';
import { rootSocketPath } from '../protocol/socket-path.js';
import type { EventType } from '../protocol/vocabularies.js';
import { parseRequest, type ParsedRequest } from './parse-request.js';
import type { Logger } from '../log/logger.js';
import { VERSION } from '../version.js';
import { SourceWatcher } from '../resolve/watch-sources.js';
import { InstallRunner } from './install-runner.js';
import { MachineProbe } from './machine-hardware.js';
import { LiveValidation } from './live-validation.js';
import { ValidationCache } from '../validate/validate-config.js';
import type { DaemonOptions } from './options.js';
import { checkNoLiveDaemon, listenRestricted, prepareSocketDir } from './socket-guard.js';
import { PeerLimit } from './peer-limit.js';
import { MAX_WATCHERS } from '../protocol/limits.js';
import { prepareEvalHome, setEvalUser } from '../nix/eval-user.js';
import { makeEvalReadable, removeEvalReadable } from '../nix/eval-readable.js';
import { FACTS_NIX } from '../validate/config-facts.js';
import { KeptCopyFill } from './kept-fill.js';
import type { FleetInfo } from '../protocol/fleet.js';
import { FleetRunner } from './fleet-runner.js';

// node-ipc's own lifecycle events share the bus with client frames; the guarded
// parser refuses these names from clients, so seeing one here means it is local.
const LIFECYCLE = new Set(['start', 'connect', 'disconnect', 'destroy', 'close', 'socket.disconnected', 'error', 'data']);
const DRAIN_MS = 2000;
// A connection that has sent no request by then is closed: idle connections must not hold the connection slots.
export const IDLE_MS = 10_000;

export class Daemon {
  // The socket group's socket, and root's own beside it: however many
  // connections the group holds, root's CLI always gets in.
  private readonly ipc = new IPCModule();
  private readonly rootIpc = new IPCModule();
  private readonly serverOf = new WeakMap<Socket, IPCModule>();
  private readonly idle = new Map<Socket, NodeJS.Timeout>();
  private readonly runner: InstallRunner;
  private readonly watcher: SourceWatcher;
  private readonly validation: LiveValidation;
  private readonly fill: KeptCopyFill;
  private readonly machine: MachineProbe;
  // Connections per user on the group's socket; root's socket needs none (only root reaches it).
  private readonly peerLimit: PeerLimit;
  // The fleet this seed serves, if any (src/fleet/).
  private readonly fleets: FleetRunner;
  // Sockets that get install events: the one that started the install and status watchers.
  private readonly subscribers = new Set<Socket>();
  // The eval user's readable copy of the Nix files it evaluates, removed at stop.
  private evalReadable: string | null = null;
  // The connection whose closing cancels the running install (Calamares quitting), if it asked for that.
  private cancelWith: Socket | null = null;

  constructor(
    private readonly options: DaemonOptions,
    private readonly logger: Logger,
  ) {
    const cache = new ValidationCache();
    this.runner = new InstallRunner(options, logger, cache);
    this.watcher = new SourceWatcher(options.configDirs, (snapshot, path) => {
      this.logger.info({ active: snapshot.active, problem: snapshot.problem?.title ?? null, changed: path }, 'configuration sources changed');
      this.fill.changed();
      this.validation.refresh();
    }, options.socketGid);
    this.validation = new LiveValidation(options, logger, () => this.watcher.current(), () => this.runner.choices(), (result) => this.broadcast('validation', result), cache);
    this.fill = new KeptCopyFill(logger, () => this.watcher.current().active);
    this.machine = new MachineProbe(options, logger);
    this.peerLimit = new PeerLimit(logger);
    this.fleets = new FleetRunner(options.fleet, logger, options);
  }

  async start(): Promise<void> {
    const { socketPath, socketGid } = this.options;
    const rootSocket = rootSocketPath(socketPath);
    await checkNoLiveDaemon(socketPath);
    await checkNoLiveDaemon(rootSocket);
    await prepareSocketDir(socketPath, socketGid);
    // No other daemon uses this runtime folder now: what an earlier one recorded and left running is ended.
    const children = join(dirname(socketPath), 'children');
    for (const leftover of await endLeftovers(children, KILL_GRACE_MS)) {
      this.logger.warn({ pid: leftover.pid, command: leftover.command }, 'ended a command an earlier daemon left running');
    }
    if (!recordChildrenIn(children)) this.logger.warn({ folder: children }, 'the folder for records of running commands is not ours alone; a crash would leave them running');
    await Promise.all([this.useEvalUser(), this.fill.removeLeftovers()]);
    await this.watcher.start();
    this.fill.start(); // before the socket answers: an install's update of the kept copy comes after the fill
    await this.serve(this.ipc, socketPath, socketGid, 0o117);
    await this.serve(this.rootIpc, rootSocket, 0, 0o177);
    const snapshot = this.watcher.current();
    this.logger.info({ socket: socketPath, rootSocket, gid: socketGid, sources: snapshot.candidates, active: snapshot.active, problem: snapshot.problem?.title ?? null }, 'daemon ready');
    this.validation.refresh();
    // In the background: the socket answers first; status shows the result once there.
    void this.machine.probe();
  }

  // Who evaluates configurations from now on; said once, as a warning when it is root.
  private async useEvalUser(): Promise<void> {
    const user = this.options.evalUser;
    if (user) await prepareEvalHome(user);
    // What it evaluates besides the configuration, where it can read it (src/nix/eval-readable.ts).
    if (user) this.evalReadable = await makeEvalReadable(dirname(user.home), user, [dirname(FACTS_NIX), this.options.nixosExpr]);
    setEvalUser(user);
    if (user) this.logger.info({ evalUser: user.name, uid: user.uid, gid: user.gid, home: user.home, evalReadable: this.evalReadable }, `configurations are evaluated as ${user.name} (uid ${user.uid}) through nix-daemon`);
    else this.logger.warn('no eval user (--eval-user): configurations are evaluated as root, limited by restrict-eval only; give an unprivileged user so that they cannot read root-only files');
  }

  // Serves PATH, born with its final mode (UMASK) and given to root:GID.
  private async serve(ipc: IPCModule, path: string, gid: number, umask: number): Promise<void> {
    configureIpc(ipc, 'nixos-offline-installer');
    await listenRestricted(
      () =>
        new Promise<void>((resolve) => {
          ipc.serve(path, resolve);
          ipc.server.on('connect', (socket: Socket) => this.connected(ipc, socket));
          ipc.server.on('*', (type, data, socket) => this.dispatch(type, data, socket));
          ipc.server.on('socket.disconnected', (socket: Socket) => this.disconnected(socket));
          ipc.server.start();
        }),
      path,
      process.getuid?.() ?? 0,
      gid,
      umask,
    );
  }

  async stop(): Promise<void> {
    const filled = this.fill.stop();
    this.validation.stop();
    this.machine.stop();
    await this.runner.stop();
    await this.fleets.stop();
    await this.watcher.close();
    await this.drainClients();
    for (const timer of this.idle.values()) clearTimeout(timer);
    this.ipc.server.stop();
    this.rootIpc.server.stop();
    await Promise.all([removeEvalReadable(this.evalReadable), filled]);
    this.evalReadable = null;
  }

  private connected(ipc: IPCModule, socket: Socket): void {
    // node-ipc also tells its own server start as a connect.
    if (typeof socket?.destroy !== 'function' || !('remoteAddress' in socket)) return;
    this.serverOf.set(socket, ipc);
    if (ipc === this.ipc && !this.peerLimit.added(socket)) return;
    const timer = setTimeout(() => {
      this.idle.delete(socket);
      this.logger.warn('closed a connection that sent no request');
      socket.destroy();
    }, IDLE_MS);
    timer.unref();
    this.idle.set(socket, timer);
  }

  // The last events (the cancelled result) reach the clients before their sockets close; a client not reading gets 2 s.
  private async drainClients(): Promise<void> {
    const deadline = Date.now() + DRAIN_MS;
    const sockets = [...(this.ipc.server.sockets as Socket[]), ...(this.rootIpc.server.sockets as Socket[])].filter((s) => !s.destroyed);
    while (sockets.some((s) => !s.destroyed && s.writableLength > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private disconnected(socket: Socket): void {
    clearTimeout(this.idle.get(socket));
    this.idle.delete(socket);
    this.peerLimit.removed(socket);
    this.subscribers.delete(socket);
    this.fleets.disconnected(socket);
    if (socket !== this.cancelWith) return;
    this.cancelWith = null;
    if (this.runner.cancel()) this.logger.warn('the installer client went away; install cancelled as it asked');
  }

  private send<T extends EventType>(socket: Socket, type: T, data: EventMap[T]): void {
    if (socket.destroyed) return;
    try {
      (this.serverOf.get(socket) ?? this.ipc).server.emit(socket, type, data);
    } catch (error) {
      // A frame over the size limit is a bug of ours; never a reason to crash.
      this.logger.error({ err: error, type }, 'could not send an event');
    }
  }

  private broadcast<T extends EventType>(type: T, data: EventMap[T]): void {
    for (const socket of this.subscribers) this.send(socket, type, data);
  }

  private groupWatchers(): number {
    return [...this.subscribers].filter((socket) => this.serverOf.get(socket) === this.ipc).length;
  }

  private reply(socket: Socket, id: string, request: string, body: { status?: StatusInfo; installId?: string; source?: string | null; validation?: ValidationResult; fleet?: FleetInfo; ended?: CancelEnded } | { error: RequestError }): void {
    const reply: ReplyEvent = 'error' in body ? { v: PROTOCOL_VERSION, id, request, ok: false, error: body.error } : { v: PROTOCOL_VERSION, id, request, ok: true, ...body };
    this.send(socket, 'reply', reply);
  }

  private dispatch(type: string, data: unknown, socket: Socket): void {
    if (LIFECYCLE.has(type)) {
      if (type === 'error') this.logger.warn({ err: data }, 'client connection closed for a protocol error');
      return;
    }
    clearTimeout(this.idle.get(socket));
    this.idle.delete(socket);
    const parsed = parseRequest(type, data);
    if (!parsed.ok) {
      this.logger.warn({ type: type.slice(0, 64), error: parsed.error }, 'refused a request');
      this.reply(socket, parsed.id, type.slice(0, 64), { error: parsed.error });
      return;
    }
    this.handle(parsed.value, socket);
  }

  private statusInfo(): StatusInfo {
    const source = this.watcher.current();
    return {
      daemon: { version: VERSION, protocol: PROTOCOL_VERSION, pid: process.pid },
      source: { active: source.active, candidates: source.candidates, problem: source.problem, ...(source.watchLimited && { watchLimited: source.watchLimited }) },
      install: this.runner.status(),
      validation: this.validation.status(),
      hardware: this.machine.current(),
    };
  }

  private handle(parsed: ParsedRequest, socket: Socket): void {
    const { id } = parsed.request;
    switch (parsed.type) {
      case 'status':
        if (parsed.request.watch && !this.subscribers.has(socket) && this.serverOf.get(socket) === this.ipc && this.groupWatchers() >= MAX_WATCHERS) {
          this.logger.warn({ watchers: MAX_WATCHERS }, 'refused a watcher: the socket has as many as it takes');
          const description = `The installer's socket takes ${MAX_WATCHERS} watching clients (status --watch, Calamares) at once, and has that many. Close a watching client (another nixos-offline-installer status --watch), or ask without --watch.`;
          this.reply(socket, id, 'status', { error: { code: 'too-many-watchers', title: 'Too many clients are watching the installer', description } });
          return;
        }
        if (parsed.request.watch) this.subscribers.add(socket);
        this.reply(socket, id, 'status', { status: this.statusInfo() });
        return;
      case 'install': {
        if (this.runner.busy) {
          const current = this.runner.status();
          const description = `Install ${current.installId} from ${current.source ?? '(no usable configuration)'} into ${current.root} is running. Wait for it to finish or cancel it (nixos-offline-installer cancel) before starting another.`;
          this.reply(socket, id, 'install', { error: { code: 'busy', title: 'An install is already running', description } });
          return;
        }
        // Only root may install into a folder that is not a mount point (a socket-group user could name
        // /etc), or have the daemon read an answer file and wipe the disk it names.
        const rootOnly = parsed.request.allowUnmounted ? 'allowUnmounted' : parsed.request.answers !== undefined ? 'answers' : parsed.request.fleet !== undefined ? 'fleet' : null;
        if (rootOnly && this.serverOf.get(socket) !== this.rootIpc) {
          this.reply(socket, id, 'install', {
            error: {
              code: 'bad-request',
              title: `Invalid request field "${rootOnly}"`,
              description: `"${rootOnly}" is accepted only from root, through root's socket (${rootSocketPath(this.options.socketPath)}). ${rootOnly === 'answers' || rootOnly === 'fleet' ? `Run the unattended install as root (sudo nixos-offline-installer install --${rootOnly} ...).` : 'Mount the target and install without it.'}`,
              field: rootOnly,
            },
          });
          return;
        }
        this.subscribers.add(socket);
        this.cancelWith = parsed.request.cancelOnDisconnect ? socket : null;
        const { installId, source } = this.runner.start(parsed.request, {
          phase: (event) => this.broadcast('phase', event),
          progress: (event) => this.broadcast('progress', event),
          log: (event) => this.broadcast('log', event),
          result: (event) => {
            this.cancelWith = null;
            this.broadcast('result', event);
          },
        });
        this.logger.info({ installId, source, request: parsed.request }, 'install started');
        this.reply(socket, id, 'install', { installId, source });
        return;
      }
      case 'validate': {
        const { user, desktop, flakeConfig, choices } = parsed.request;
        void this.validation.check({ ...(user !== undefined && { user }), ...(desktop !== undefined && { desktop }), ...(flakeConfig !== undefined && { flakeConfig }), ...(choices !== undefined && { choices }) }).then((result) => {
          const hardware = this.machine.current();
          if (result) this.reply(socket, id, 'validate', { validation: { ...result, ...(hardware && { hardware }) } });
          else this.reply(socket, id, 'validate', { error: { code: 'validation-crashed', title: 'The configuration could not be checked', description: 'The check stopped unexpectedly; the daemon journal (journalctl -u nixos-offline-installer) says why.' } });
        });
        return;
      }
      case 'fleet-serve':
        void this.fleets.serve(parsed.request, socket, this.serverOf.get(socket) === this.rootIpc).then((body) => this.reply(socket, id, 'fleet-serve', body));
        return;
      case 'cancel': {
        // The install, and a fleet if root asks (root alone serves one).
        const install = this.runner.cancel();
        void this.fleets.cancel(this.serverOf.get(socket) === this.rootIpc).then((fleet) => this.reply(socket, id, 'cancel', install || fleet ? { ended: { install, fleet } } : { error: { code: 'not-running', title: 'No install is running', description: 'There is nothing to cancel (a fleet is ended by root alone).' } }));
        return;
      }
    }
  }
}
