# Your NixOS configuration: what the offline installer puts on every target.
# Everything it needs is built into the ISO, so nothing is downloaded during
# the install. Lines marked CHANGE are the ones to adapt.
{ config, pkgs, ... }:
{
  imports = [
    # A template: each target gets its own, generated during the install.
    ./hardware-configuration.nix
  ];

  # CHANGE: the boot loader for your machines. EFI firmware: systemd-boot.
  # BIOS: boot.loader.grub.enable = true; (the disk comes from Calamares'
  # partition page). The installer refuses a boot loader the machine's
  # firmware cannot start, before writing anything.
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.networkmanager.enable = true;

  # Host name, time zone, language and keyboard are left to the installer:
  # what the person chooses in Calamares (or the answer file says) becomes
  # installer-choices.nix on the target, as defaults. Set one here only to
  # force it on every machine: then it wins, and the installer says so
  # (with lib.mkDefault here, the installer's choice still wins).
  # networking.hostName = "nixos";
  # time.timeZone = "UTC";
  # i18n.defaultLocale = "en_US.UTF-8";

  # The desktop. In Calamares, choose the same one: the installer refuses
  # another, because only this one's packages are on the ISO.
  services.displayManager.gdm.enable = true;
  services.desktopManager.gnome.enable = true;

  # CHANGE: the user you create on Calamares' "Users" page must be declared
  # here with the same name (the installer checks before writing anything).
  users.users.tech = {
    isNormalUser = true;
    description = "Technician";
    extraGroups = [ "wheel" "networkmanager" ];
  };

  environment.systemPackages = with pkgs; [ vim git ];

  # Set once, when the machine is first installed; see the NixOS manual.
  system.stateVersion = "26.11";
}
