// Which setting of this machine's generated hardware-configuration.nix pulled
// a missing download in, where the download's name tells: the template on the
// ISO did not ask for it, so the ISO's store does not have it.
export interface HardwareCause {
  // How the download is named in nixpkgs.
  name: RegExp;
  // The option in the generated file that asks for it.
  option: string;
}

export const HARDWARE_CAUSES: readonly HardwareCause[] = [
  { name: /^microcode-intel-|intel-ucode/, option: 'hardware.cpu.intel.updateMicrocode' },
  { name: /^amd-ucode-|microcode-amd/, option: 'hardware.cpu.amd.updateMicrocode' },
  { name: /broadcom-sta/, option: 'boot.extraModulePackages' },
  { name: /^VirtualBox-GuestAdditions|virtualbox/i, option: 'virtualisation.virtualbox.guest.enable' },
  { name: /^open-vm-tools/, option: 'virtualisation.vmware.guest.enable' },
  { name: /hyperv/i, option: 'virtualisation.hypervGuest.enable' },
  { name: /cpupower/, option: 'powerManagement.cpuFreqGovernor' },
];

// The option that explains DOWNLOAD, when the generated file sets it.
export function hardwareCause(download: string, generated: string | null): string | null {
  if (generated === null) return null;
  const cause = HARDWARE_CAUSES.find((c) => c.name.test(download) && generated.includes(c.option));
  return cause ? cause.option : null;
}
