// One fleet at a time, served for as long as the connection that asked for it
// stays open (`fleet serve` until Ctrl-C), and ended by root's `cancel` or when
// the daemon stops.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { FleetInfo, FleetServeRequest } from '../protocol/fleet.js';
import type { RequestError } from '../protocol/messages.js';
import { FleetError } from '../fleet/fleet-error.js';
import { FleetServer, type FleetSettings } from '../fleet/fleet-server.js';
import type { SeedSettings } from '../fleet/target-checks.js';
import { errorMessage } from '../common/install-error.js';

export type FleetReply = { fleet: FleetInfo } | { error: RequestError };

export class FleetRunner {
  private fleet: FleetServer | null = null;
  private owner: Socket | null = null;
  private starting = false;
  private stopped = false;

  constructor(
    private readonly settings: FleetSettings,
    private readonly logger: Logger,
    // What a target's check on the seed runs with: the daemon's own settings (configuration folders, eval user's Nix, logs).
    private readonly seed: SeedSettings,
  ) {}

  // Starts a fleet for SOCKET (root's socket only: it serves DHCP and hands out installs of disks).
  async serve(request: FleetServeRequest, socket: Socket, fromRoot: boolean): Promise<FleetReply> {
    if (!fromRoot) return { error: { code: 'bad-request', title: 'Only root may serve a fleet', description: 'fleet serve runs a DHCP and TFTP server and installs disks of other machines: run it as root (sudo nixos-offline-installer fleet serve ...).', field: 'interface' } };
    if (this.fleet || this.starting || this.stopped) return { error: { code: 'busy', title: 'A fleet is already served', description: `This seed serves ${this.fleet?.info.url ?? 'a fleet'} already; end that one (Ctrl-C where fleet serve runs) first.` } };
    this.starting = true;
    try {
      const fleet = await FleetServer.start(request, this.settings, this.seed, this.logger, (why) => {
        this.logger.error({ why }, 'the fleet stopped: one of its servers ended');
        void this.endAndClose();
      });
      // The client may have gone, or the daemon begun to stop, while it started: then it ends at once.
      if (socket.destroyed || this.stopped) {
        await fleet.stop();
        return { error: { code: 'cancelled', title: 'The fleet was ended', description: 'Its client went away while it started.' } };
      }
      this.fleet = fleet;
      this.owner = socket;
      return { fleet: fleet.info };
    } catch (error) {
      if (error instanceof FleetError) return { error: { code: 'fleet-refused', title: error.title, description: error.description, field: error.field } };
      this.logger.error({ err: error }, 'the fleet could not start');
      return { error: { code: 'internal-error', title: 'The fleet could not start', description: `${errorMessage(error)}\nThe daemon journal says more (journalctl -u nixos-offline-installer).` } };
    } finally {
      this.starting = false;
    }
  }

  // The connection that serves the fleet closed (Ctrl-C): the fleet ends.
  disconnected(socket: Socket): void {
    if (socket === this.owner) void this.end();
  }

  // A `cancel` request: root's ends the fleet (its DHCP, TFTP and HTTP servers), as Ctrl-C where it was started would.
  async cancel(fromRoot: boolean): Promise<boolean> {
    if (!fromRoot || !this.fleet) return false;
    this.logger.warn({ fleet: this.fleet.info.url }, 'cancel requested: ending the fleet');
    await this.endAndClose();
    return true;
  }

  // fleet serve learns the fleet ended by its connection closing, as when the daemon stops.
  private async endAndClose(): Promise<void> {
    const owner = this.owner;
    await this.end().finally(() => owner?.destroy());
  }

  // The daemon is stopping: the fleet ends, and none starts from now on.
  async stop(): Promise<void> {
    this.stopped = true;
    await this.end();
  }

  async end(): Promise<void> {
    const fleet = this.fleet;
    this.fleet = null;
    this.owner = null;
    if (!fleet) return;
    await fleet.stop();
    this.logger.info({ fleet: fleet.info.url }, 'fleet ended');
  }
}
