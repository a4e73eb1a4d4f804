// One fleet served from this seed: checks what it was asked, then its state
// folder, HTTP server and dnsmasq, in that order; ends them in the reverse
// order, dnsmasq's whole process group included, then the target checks.
import type { Server } from 'node:http';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { SEED_STORE_USER } from '../nix/ssh-ng.js';
import { DEFAULT_FLEET_PORT, FLEET_FILE, type FleetInfo, type FleetServeRequest } from '../protocol/fleet.js';
import { DEFAULT_IPXE_DIR, DEFAULT_NETBOOT_DIR, findBootFiles, netbootScript } from './boot-files.js';
import { dnsmasqConfig } from './dnsmasq-config.js';
import { startDnsmasq, type RunningDnsmasq } from './dnsmasq.js';
import { FleetError } from './fleet-error.js';
import { startHttp, stopHttp } from './http-server.js';
import { dhcpRange, seedNetwork } from './network.js';
import { newSecret } from './secret.js';
import { freshStateDir } from './state-dir.js';
import { startSshd, storeUser, type RunningSshd } from './sshd.js';
import { TargetChecks, type SeedSettings } from './target-checks.js';
import { TargetRegistry } from './targets.js';

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
    private readonly dnsmasq: RunningDnsmasq,
    private readonly sshd: RunningSshd,
    private readonly controller: AbortController,
    private readonly checks: TargetChecks,
  ) {}

  // ENDED is told if dnsmasq stops by itself while the fleet is served.
  static async start(request: FleetServeRequest, stateDir: string, settings: SeedSettings, logger: Logger, ended: (why: string) => void): Promise<FleetServer> {
    const { net, proxy } = seedNetwork(request.interface, request.address);
    const answers = await answersFolder(request.answers);
    const files = await findBootFiles(request.ipxe ?? DEFAULT_IPXE_DIR, request.netboot ?? DEFAULT_NETBOOT_DIR);
    const dir = await freshStateDir(stateDir);
    const port = request.port ?? DEFAULT_FLEET_PORT;
    const url = `http://${net.address}:${port}`;
    const secret = newSecret();
    const registry = new TargetRegistry(answers, dir);
    await registry.start();
    // `fleet status` run on the seed reads the URL and secret here (root's alone, as the folder).
    await writeFile(join(dir, FLEET_FILE), `${JSON.stringify({ url, secret })}\n`, { mode: 0o600 });
    const log = (message: string, fields: Record<string, unknown> = {}) => logger.info({ fleet: url, ...fields }, message);
    const checks = new TargetChecks(registry, settings, log);
    const controller = new AbortController();
    // The seed's store over ssh-ng, on the port after the HTTP server's.
    const sshd = await startSshd(join(dir, 'ssh'), net.address, port + 1, await storeUser(), controller.signal, (line) => logger.info({ fleet: url, source: 'sshd' }, line));
    const store = { host: net.address, port: sshd.port, user: SEED_STORE_USER, privateKey: sshd.targetKey, hostKey: sshd.hostKey };
    let http: Server | null = null;
    let dnsmasq: RunningDnsmasq;
    try {
      http = await startHttp({ script: netbootScript(files, url, secret), kernel: files.kernel, initrd: files.initrd, secret, registry, store, registered: (mac) => checks.add(mac), log }, net.address, port).catch((error: NodeJS.ErrnoException) => {
        throw new FleetError('port', `the seed cannot listen on ${net.address}:${port}`, `${error.code ?? error.message}: another program uses that port; give another with --port.`);
      });
      const configFile = join(dir, 'dnsmasq.conf');
      await writeFile(configFile, dnsmasqConfig({ interface: request.interface, net, proxy, ipxeDir: files.ipxeDir, scriptUrl: `${url}/netboot.ipxe`, leaseFile: join(dir, 'dnsmasq.leases'), pidFile: join(dir, 'dnsmasq.pid') }), { mode: 0o600 });
      dnsmasq = await startDnsmasq(configFile, controller.signal, (line) => logger.info({ fleet: url, source: 'dnsmasq' }, line));
    } catch (error) {
      controller.abort();
      if (http) await stopHttp(http);
      await sshd.exited;
      await checks.stop();
      throw error;
    }
    for (const [name, child] of [['dnsmasq', dnsmasq.exited], ['sshd', sshd.exited]] as const) {
      void child.then((result) => {
        if (!controller.signal.aborted) ended(`${name} exited with status ${result.exitCode ?? result.signal}`);
      });
    }
    const info: FleetInfo = { url, interface: request.interface, address: `${net.address}/${net.prefix}`, proxy, secret, stateDir: dir, range: proxy ? null : dhcpRange(net), storePort: sshd.port };
    logger.info({ ...info, secret: undefined }, 'fleet served');
    return new FleetServer(info, registry, http, dnsmasq, sshd, controller, checks);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.dnsmasq.exited;
    await this.sshd.exited;
    await stopHttp(this.http);
    await this.checks.stop();
  }
}
