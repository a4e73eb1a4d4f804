// This machine's hardware against the profiles the ISO was built for: probed
// once (nixos-generate-config --show-hardware-config, no target needed: the
// live system runs on the machine to install), so `status` and `validate`
// can say before any install whether the ISO covers it.
import type { Logger } from '../log/logger.js';
import { showHardwareConfig } from '../prepare/hardware-config.js';
import { manifestProfiles, matchProfile } from '../prepare/hardware-profiles.js';
import { profileLine } from '../protocol/titles.js';
import type { MachineHardware } from '../protocol/messages.js';
import type { CommandContext, JobSettings } from '../common/context.js';

export class MachineProbe {
  private result: MachineHardware | null = null;
  private readonly controller = new AbortController();

  constructor(
    private readonly settings: JobSettings,
    private readonly logger: Logger,
  ) {}

  current(): MachineHardware | null {
    return this.result;
  }

  async probe(): Promise<void> {
    const ctx: CommandContext = {
      signal: this.controller.signal,
      log: (source, line) => this.logger.debug({ source }, line),
      output: (source, line) => this.logger.debug({ source }, line),
      recentLines: () => [],
    };
    try {
      const profiles = await manifestProfiles(this.settings.manifest);
      const generated = await showHardwareConfig(ctx, null);
      const match = matchProfile(generated, profiles);
      this.result = { profiles: Object.keys(profiles).length, ...match };
      this.logger.info({ hardware: this.result }, profileLine(match, this.result.profiles));
    } catch (error) {
      if (!this.controller.signal.aborted) this.logger.warn({ err: error }, 'could not probe this machine against the hardware profiles');
    }
  }

  stop(): void {
    this.controller.abort();
  }
}
