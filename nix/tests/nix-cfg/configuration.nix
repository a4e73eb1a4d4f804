# The configuration the VM test installs: BIOS GRUB on the virtio disk, no desktop.
{ config, pkgs, modulesPath, ... }:
{
  imports = [
    ./hardware-configuration.nix
    # Lets the test driver talk to the installed system after it boots.
    (modulesPath + "/testing/test-instrumentation.nix")
  ];
  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";
  networking.hostName = "offline-test";
  users.users.tech = { isNormalUser = true; extraGroups = [ "wheel" ]; initialPassword = "tech"; };
  system.stateVersion = "24.11";
}
