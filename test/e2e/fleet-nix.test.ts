// The fleet's Nix side, as far as it runs without nixpkgs: nix/fleet.nix (the
// module's fleet options), the netboot installer (nix/netboot.nix,
// nix/netboot-files.nix) and where the ISO carries the boot files (nix/iso.nix),
// each evaluated by real Nix against minimal stand-ins of lib and pkgs, and
// checked against nix/installer-defaults.json, which the daemon reads too.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { INSTALLER_DEFAULTS } from '../../src/protocol/installer-defaults.js';
import { DEFAULT_IPXE_DIR, DEFAULT_NETBOOT_DIR, INITRD, IPXE_BIOS, IPXE_EFI, KERNEL, KERNEL_PARAMS } from '../../src/fleet/boot-files.js';
import { DEFAULT_FLEET_PORT, STORE_PORT_OFFSET } from '../../src/protocol/fleet.js';
import { NIX_CONFIG, REPO } from '../helpers/env.js';

function evalJson(expression: string): any {
  return JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expression], { cwd: REPO, env: { ...process.env, NIX_CONFIG }, encoding: 'utf8' }));
}

// What the files use of nixpkgs' lib, written with builtins.
const LIB = `rec {
  mkEnableOption = d: { description = d; };
  mkPackageOption = pkgs: name: _: pkgs.\${name};
  mkOption = o: o;
  mkIf = c: v: if c then v else { };
  mkForce = v: v;
  mkDefault = v: v;
  types = { str = "str"; bool = "bool"; enum = e: e; };
  optional = c: v: if c then [ v ] else [ ];
  optionals = c: v: if c then v else [ ];
  hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  removePrefix = p: s: if hasPrefix p s then builtins.substring (builtins.stringLength p) (-1) s else s;
  trivial.release = "26.11";
}`;

const fleetModule = (enable: boolean, openFirewall: boolean) => `
  let
    lib = ${LIB};
    pkgs = { dnsmasq = "/dnsmasq"; openssh = "/openssh"; };
    config = {
      systemd.package = "/systemd";
      services.nixos-offline-installer = { enable = true; fleet = { enable = ${enable}; dnsmasq = "/dnsmasq"; user = "${INSTALLER_DEFAULTS.fleet.user}"; openFirewall = ${openFirewall}; }; };
    };
  in (import ./nix/fleet.nix { inherit config lib pkgs; }).config`;

describe('the NixOS module: services.nixos-offline-installer.fleet', () => {
  it("gives the daemon dnsmasq, systemd's tools and sshd and runs the fleet's servers in units of their own, without widening the daemon's", () => {
    const config = evalJson(fleetModule(true, false));
    const daemon = config.systemd.services['nixos-offline-installer'];
    expect(daemon.path).toEqual(['/dnsmasq', '/systemd', '/openssh']);
    expect(daemon.environment).toEqual({ NOI_FLEET_USER: INSTALLER_DEFAULTS.fleet.user });
    // Nothing of the daemon's own hardening is touched: no address family, IP allowance or capability added.
    expect(daemon.serviceConfig).toBeUndefined();
    expect(config.users.users[INSTALLER_DEFAULTS.fleet.user]).toMatchObject({ isSystemUser: true, group: INSTALLER_DEFAULTS.fleet.user });
    expect(config.users.groups).toEqual({ [INSTALLER_DEFAULTS.fleet.user]: {}, sshd: {} });
    // The store's sshd needs OpenSSH's privilege-separation user even where services.openssh is off.
    expect(config.users.users.sshd).toEqual({ isSystemUser: true, group: 'sshd' });
    expect(config.networking.firewall).toEqual({});
  });

  it('opens DHCP, TFTP, PXE, the default HTTP port and the store port after it when asked, and does nothing when the fleet is off', () => {
    expect(evalJson(fleetModule(true, true)).networking.firewall).toEqual({ allowedUDPPorts: [67, 69, 4011], allowedTCPPorts: [DEFAULT_FLEET_PORT, DEFAULT_FLEET_PORT + STORE_PORT_OFFSET] });
    expect(evalJson(fleetModule(false, true))).toEqual({});
  });

  it('is imported by the module, and the ISO enables it with its ports open', () => {
    expect(evalJson(`builtins.map toString (import ./nix/module.nix { config.services.nixos-offline-installer.enable = false; lib = ${LIB} // { mkMerge = l: l; literalExpression = e: e; concatStringsSep = builtins.concatStringsSep; optionalAttrs = c: a: if c then a else { }; }; pkgs = { }; }).imports`)).toEqual(
      ['unattended.nix', 'check-medium.nix', 'fleet.nix'].map((f) => `${REPO}/nix/${f}`),
    );
    expect(iso('"/nix/store/netboot"').fleet).toEqual({ enable: true, openFirewall: true });
  });
});

// nix/iso.nix's config, with stand-ins for what it is given; only the parts asked for are evaluated.
function iso(netbootFiles: string): any {
  return evalJson(`
    let
      lib = ${LIB};
      pkgs = { callPackage = f: _: "callPackage " + baseNameOf f; ipxe = "/nix/store/ipxe"; };
      config = { offlineInstaller = { buildDependencies = "iso"; hardwareProfileData = null; }; services.nixos-offline-installer.socketGroup = "g"; };
      result = import ./nix/iso.nix { inherit config lib pkgs; modulesPath = "/modules"; target = { }; nixCfgFlake = null; nixCfg = "/nix-cfg"; nixosOfflineInstaller = null; netbootFiles = ${netbootFiles}; };
    in { fleet = result.config.services.nixos-offline-installer.fleet; contents = result.config.isoImage.contents; }`);
}

describe('the boot files on the ISO', () => {
  it("are where fleet serve looks by default (the ISO is mounted at /iso): nixpkgs' iPXE binaries and the netboot folder", () => {
    expect(DEFAULT_IPXE_DIR).toBe(INSTALLER_DEFAULTS.fleet.ipxeDir);
    expect(DEFAULT_NETBOOT_DIR).toBe(INSTALLER_DEFAULTS.fleet.netbootDir);
    const onIso = (path: string) => path.replace(/^\/iso/, '');
    const contents = iso('"/nix/store/netboot"').contents as { source: string; target: string }[];
    expect(contents.slice(2)).toEqual([
      { source: '/nix/store/netboot', target: onIso(DEFAULT_NETBOOT_DIR) },
      { source: `/nix/store/ipxe/${IPXE_BIOS}`, target: `${onIso(DEFAULT_IPXE_DIR)}/${IPXE_BIOS}` },
      { source: `/nix/store/ipxe/${IPXE_EFI}`, target: `${onIso(DEFAULT_IPXE_DIR)}/${IPXE_EFI}` },
    ]);
    // An ISO without them (not x86_64) carries only the configuration.
    expect(iso('null').contents.map((c: { target: string }) => c.target)).toEqual(['/nix-cfg', '/nix-cfg.manifest.json']);
  });
});

// What nix/netboot.nix is given, as stand-ins.
const NETBOOT_ARGS = `lib = ${LIB}; modulesPath = "/modules"; nixosOfflineInstaller = null; pkgs = { openssh = "/openssh"; }; config.services.nixos-offline-installer.package = "/noi";`;

describe('the netboot installer', () => {
  it("lays out the kernel, the initrd and the kernel parameters under the names the seed serves, as regular files", () => {
    const built = evalJson(`
      import ./nix/netboot-files.nix {
        runCommand = name: env: script: { inherit name env script; };
        netboot.config = {
          system.build = { kernel = "/nix/store/kernel"; netbootRamdisk = "/nix/store/ramdisk"; toplevel = "/nix/store/system"; };
          system.boot.loader.kernelFile = "bzImage";
          boot.kernelParams = [ "loglevel=4" "console=ttyS0" ];
        };
      }`);
    expect(built.env.kernelParams).toBe('init=/nix/store/system/init loglevel=4 console=ttyS0');
    const lines = (built.script as string).trim().split('\n').map((l) => l.trim());
    expect(lines).toEqual(['mkdir $out', `cp /nix/store/kernel/bzImage $out/${KERNEL}`, `cp /nix/store/ramdisk/initrd $out/${INITRD}`, `cp $kernelParamsPath $out/${KERNEL_PARAMS}`]);
  });

  it("is nixpkgs' minimal netboot system with the daemon, and no nixpkgs source or target system in its store", () => {
    const netboot = evalJson(`
      let m = import ./nix/netboot.nix { ${NETBOOT_ARGS} };
      in { imports = map toString m.imports; inherit (m.services.nixos-offline-installer) enable nixpkgs; inherit (m.netboot) squashfsCompression; substituters = m.nix.settings.substituters; }`);
    expect(netboot).toEqual({ imports: ['/modules/installer/netboot/netboot-minimal.nix', `${REPO}/nix/module.nix`], enable: true, nixpkgs: null, squashfsCompression: 'zstd -Xcompression-level 19', substituters: [] });
  });

  it('runs install --fleet with the URL from the kernel command line, with ssh on its path and IP for the daemon alone', () => {
    const m = evalJson(`(import ./nix/netboot.nix { ${NETBOOT_ARGS} }).systemd.services`);
    const unit = m['nixos-offline-installer-fleet-target'];
    expect(unit.unitConfig.ConditionKernelCommandLine).toBe('nixos-offline-installer.fleet');
    expect(unit.path).toEqual(['/noi', '/openssh']);
    expect(unit.environment.NOI_SOCKET).toBe(INSTALLER_DEFAULTS.daemon.socket);
    expect(unit.script).toContain('nixos-offline-installer.fleet=*) value="${word#nixos-offline-installer.fleet=}"');
    expect(unit.script).toContain('exec nixos-offline-installer install --fleet "$value"');
    // The client itself only talks to the daemon's socket; the daemon registers and copies (fetch, ssh-ng).
    expect(unit.serviceConfig).toMatchObject({ PrivateNetwork: true, RestrictAddressFamilies: ['AF_UNIX'], CapabilityBoundingSet: '' });
    expect(m['nixos-offline-installer']).toEqual({ path: ['/openssh'], serviceConfig: { RestrictAddressFamilies: ['AF_INET', 'AF_NETLINK'], IPAddressAllow: ['any'] } });
  });

  it('is the flake output netboot-x86_64-linux, and the x86_64 ISO alone carries it', () => {
    const flake = execFileSync('cat', ['flake.nix'], { cwd: REPO, encoding: 'utf8' });
    expect(flake).toContain('netboot-x86_64-linux = netbootFiles "x86_64-linux";');
    expect(flake).toContain('fleetBootFiles = system: if system == "x86_64-linux" then netbootFiles system else null;');
    expect(flake).toMatch(/netbootFiles = fleetBootFiles system;\n\s+\};\n\s+modules = \[ \.\/nix\/iso\.nix \]/);
    expect(flake).toMatch(/mkNetboot = system: lib\.nixosSystem \{\n\s+inherit system;\n\s+specialArgs\.nixosOfflineInstaller = installerPackage;\n\s+modules = \[ \.\/nix\/netboot\.nix \];/);
  });
});
