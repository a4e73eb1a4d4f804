# services.nixos-offline-installer.fleet: lets this system serve a fleet
# (`nixos-offline-installer fleet serve`, src/fleet/). The install daemon's own
# unit is not widened: it keeps RestrictAddressFamilies=AF_UNIX and
# IPAddressDeny=any. The fleet's three network servers, dnsmasq (DHCP, TFTP),
# the HTTP front (systemd-socket-activate + systemd-socket-proxyd, forwarding to
# the daemon's HTTP server on a Unix socket) and the seed's store over ssh-ng
# (OpenSSH's sshd, src/fleet/sshd.ts), run in transient units of their own,
# started by the daemon through systemd-run with the hardening listed, each
# property with its reason, in src/fleet/fleet-units.ts: only the fleet's
# network, and only CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_NET_ADMIN (and, for
# dnsmasq to hand its pid file to the fleet's user and drop to it, CAP_SETUID,
# CAP_SETGID and CAP_CHOWN; for sshd's privilege separation and its forced
# command's setpriv, CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT and CAP_KILL).
# Imported by nix/module.nix; the ISO enables it (nix/iso.nix).
{ config, lib, pkgs, ... }:
let
  cfg = config.services.nixos-offline-installer;
  inherit (lib) mkEnableOption mkPackageOption mkOption mkIf types;
  defaults = (builtins.fromJSON (builtins.readFile ./installer-defaults.json)).fleet;
  # sshd serves the seed's store on the port after the HTTP port's (src/fleet/fleet-server.ts reads the same offset).
  storePort = defaults.port + defaults.storePortOffset;
in
{
  options.services.nixos-offline-installer.fleet = {
    enable = mkEnableOption "serving a fleet from this system: network boot (DHCP or proxy DHCP, TFTP) and HTTP for other machines on one interface, started by `nixos-offline-installer fleet serve`";

    dnsmasq = mkPackageOption pkgs "dnsmasq" { };

    user = mkOption {
      type = types.str;
      default = defaults.user;
      description = ''
        Unprivileged system user (with a group of the same name) the fleet's
        servers run as: dnsmasq drops to it once ports 67 and 69 are bound, and
        the HTTP front runs as it. The module creates both.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Open the fleet's ports in the firewall on every interface: DHCP (67),
        TFTP (69) and PXE boot service (4011) over UDP, and the HTTP port
        (${toString defaults.port}, the default of `--port`) and the store's
        ssh-ng port (${toString storePort}, the HTTP port + ${toString defaults.storePortOffset}) over TCP. Nothing
        listens on them unless a fleet is served, and then only on its
        interface's address.
      '';
    };
  };

  config = mkIf (cfg.enable && cfg.fleet.enable) {
    systemd.services.nixos-offline-installer = {
      # dnsmasq, and systemd's systemd-run, systemctl and socket tools (bin/systemd-socket-activate;
      # the daemon finds lib/systemd/systemd-socket-proxyd beside it); OpenSSH's sshd and ssh-keygen
      # for the store's server. What else the fleet runs, util-linux's setpriv (sshd's forced command,
      # the servers' bounding set as the daemon's children) and Nix's nix-daemon (the forced command,
      # --stdio), module.nix already puts on this path.
      path = [ cfg.fleet.dnsmasq config.systemd.package pkgs.openssh ];
      # NOI_FLEET_UNITS=systemd is in the package's unit (systemd/nixos-offline-installer.service).
      environment.NOI_FLEET_USER = cfg.fleet.user;
    };

    # No login, no home: it only serves the fleet's network.
    users.users.${cfg.fleet.user} = {
      isSystemUser = true;
      group = cfg.fleet.user;
      description = "NixOS offline installer: the fleet's DHCP, TFTP and HTTP servers";
    };
    users.groups.${cfg.fleet.user} = { };

    # The store's sshd drops to OpenSSH's privilege-separation user (its default, "sshd", chrooted in
    # /var/empty) before a key is checked; nixpkgs' openssh module makes it only with
    # services.openssh.enable, and the fleet does not need that service. The same values merge with it.
    users.users.sshd = {
      isSystemUser = true;
      group = "sshd";
    };
    users.groups.sshd = { };

    networking.firewall = mkIf cfg.fleet.openFirewall {
      allowedUDPPorts = [ 67 69 4011 ];
      allowedTCPPorts = [ defaults.port storePort ];
    };
  };
}
