// One fleet served from this seed: checks what it was asked, then its state
// folder, the store's sshd, HTTP server, HTTP front and dnsmasq, in that order;
// ends them in the reverse order, each server's whole process group (or unit)
// included, then the target checks.
import type { Server } from 'node:http';
import { chown, chmod, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { SEED_STORE_USER } from '../nix/ssh-ng.js';
import { DEFAULT_FLEET_PORT, FLEET_FILE, STORE_PORT_OFFSET, type FleetInfo, type FleetServeRequest } from '../protocol/fleet.js';
import { DEFAULT_IPXE_DIR, DEFAULT_NETBOOT_DIR, copyIpxe, findBootFiles, netbootScript } from './boot-files.js';
import { dnsmasqConfig } from './dnsmasq-config.js';
import { startDnsmasq } from './dnsmasq.js';
import { FleetError } from './fleet-error.js';
import { FLEET_UNITS, dhcpUnit, httpUnit, storeUnit, type FleetUnitMode } from './fleet-units.js';
import { fleetUser } from './fleet-user.js';
import { startHttpFront } from './http-front.js';
import { startHttp, stopHttp } from './http-server.js';
import { dhcpRange, seedNetwork } from './network.js';
import { newSecret } from './secret.js';
import { stopUnit, type ServerProcess } from './server-process.js';
import { freshStateDir } from './state-dir.js';
import { startSshd, storeUser } from './sshd.js';
import { TargetChecks, type SeedSettings } from './target-checks.js';
import { TargetRegistry } from './targets.js';

// Where the fleet keeps its state, who its servers run as, and how they run (fleet-units.ts).
export interface FleetSettings {
  stateDir: string;
  user: string;
  units: FleetUnitMode;
}

// A server of the fleet and its name in the log when it ends by itself.
type NamedServer = { name: string; process: ServerProcess };

async function answersFolder(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new FleetError('answers', `${dir} is not a folder`, '--answers must name a folder of answer files: <mac>.json for one machine (lower case, colons), default.json for the others.');
  // Its files decide which disks are wiped: only root may put them there.
  if (info.uid !== process.getuid?.() || (info.mode & 0o022) !== 0) throw new FleetError('answers', `${dir} may be changed by others`, `The answer files decide which disk of each machine is wiped, so their folder must be root's and writable by root alone: chown root ${dir} && chmod go-w ${dir}.`);
  return dir;
}

export class FleetServer {
  private constructor(
    readonly info: FleetInfo,
    readonly registry: TargetRegistry,
    private readonly http: Server,
    private readonly servers: NamedServer[],
    private readonly units: FleetUnitMode,
    private readonly controller: AbortController,
    private readonly checks: TargetChecks,
  ) {}

  // ENDED is told if dnsmasq, the HTTP front or sshd stops by itself while the fleet is served.
  static async start(request: FleetServeRequest, settings: FleetSettings, seed: SeedSettings, logger: Logger, ended: (why: string) => void): Promise<FleetServer> {
    const { net, proxy } = seedNetwork(request.interface, request.address);
    const answers = await answersFolder(request.answers);
    const files = await findBootFiles(request.ipxe ?? DEFAULT_IPXE_DIR, request.netboot ?? DEFAULT_NETBOOT_DIR);
    const user = await fleetUser(settings.user);
    const dir = await freshStateDir(settings.stateDir);
    const port = request.port ?? DEFAULT_FLEET_PORT;
    const url = `http://${net.address}:${port}`;
    const secret = newSecret();
    const registry = new TargetRegistry(answers, dir);
    await registry.start();
    // `fleet status` run on the seed reads the URL and secret here (root's alone).
    await writeFile(join(dir, FLEET_FILE), `${JSON.stringify({ url, secret })}\n`, { mode: 0o600 });
    const tftpDir = await copyIpxe(files, join(dir, 'tftp'));
    const log = (message: string, fields: Record<string, unknown> = {}) => logger.info({ fleet: url, ...fields }, message);
    const serverLog = (source: string) => (line: string) => logger.info({ fleet: url, source }, line);
    const checks = new TargetChecks(registry, seed, log);
    const controller = new AbortController();
    const servers: NamedServer[] = [];
    let http: Server | null = null;
    const stopAll = () => Promise.all([...servers.map((s) => s.process.exited), ...FLEET_UNITS.map((unit) => stopUnit(settings.units, unit))]);
    try {
      // A unit left by a fleet the daemon could not end (it was killed) would keep systemd-run from starting one of that name.
      await Promise.all(FLEET_UNITS.map((unit) => stopUnit(settings.units, unit)));
      // The seed's store over ssh-ng, on the port the table puts after the HTTP port's.
      const sshd = await startSshd({ dir: join(dir, 'ssh'), address: net.address, port: port + STORE_PORT_OFFSET, user: await storeUser(), mode: settings.units, properties: storeUnit(net, dir), signal: controller.signal, log: serverLog('sshd') });
      servers.push({ name: 'sshd', process: sshd });
      const store = { host: net.address, port: sshd.port, user: SEED_STORE_USER, hostKey: sshd.hostKey };
      // The HTTP front runs as the fleet's user: the socket is that user's (and root's) alone.
      const httpSocket = join(dir, 'http.sock');
      http = await startHttp({ script: netbootScript(files, url, secret), kernel: files.kernel, initrd: files.initrd, secret, registry, store, storeKey: sshd.targetKey, registered: (mac) => checks.add(mac), log }, httpSocket);
      await chown(httpSocket, user.uid, user.gid);
      await chmod(httpSocket, 0o600);
      const configFile = join(dir, 'dnsmasq.conf');
      const leaseFile = join(dir, 'dnsmasq.leases');
      // Made here, root's and 0600: dnsmasq opens it before it drops to the fleet's user, and the LAN's MACs are nobody else's business.
      await writeFile(leaseFile, '', { mode: 0o600 });
      await writeFile(configFile, dnsmasqConfig({ interface: request.interface, net, proxy, tftpDir, scriptUrl: `${url}/netboot.ipxe`, leaseFile, pidFile: join(dir, 'dnsmasq.pid'), user: user.name, group: user.group }), { mode: 0o600 });
      servers.push({ name: 'the HTTP front', process: await startHttpFront({ address: net.address, port, socket: httpSocket, mode: settings.units, properties: httpUnit(net, user), user, signal: controller.signal, log: serverLog('http') }) });
      servers.push({ name: 'dnsmasq', process: await startDnsmasq(configFile, settings.units, dhcpUnit(net, dir), controller.signal, serverLog('dnsmasq')) });
    } catch (error) {
      controller.abort();
      await stopAll();
      if (http) await stopHttp(http);
      await checks.stop();
      throw error;
    }
    for (const { name, process } of servers) {
      void process.exited.then((result) => {
        if (!controller.signal.aborted) ended(`${name} exited with status ${result.exitCode ?? result.signal}`);
      });
    }
    const storePort = port + STORE_PORT_OFFSET;
    const info: FleetInfo = { url, interface: request.interface, address: `${net.address}/${net.prefix}`, proxy, secret, stateDir: dir, range: proxy ? null : dhcpRange(net), storePort };
    logger.info({ ...info, secret: undefined, units: settings.units }, 'fleet served');
    return new FleetServer(info, registry, http, servers, settings.units, controller, checks);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.all([...this.servers.map((s) => s.process.exited), ...FLEET_UNITS.map((unit) => stopUnit(this.units, unit))]);
    await stopHttp(this.http);
    await this.checks.stop();
  }
}
