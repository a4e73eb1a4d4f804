# NixOS VM test: boots the offline installer ISO (built from tests/nix-cfg) in
# QEMU with no network device at all, installs through the daemon's CLI onto an
# empty virtio disk, then boots the installed system from that disk.
# Needs KVM and a machine that can build NixOS; it cannot run where there is
# no nixpkgs (see README, "What was built or evaluated where").
{ nixpkgs, mkIso, system }:
let
  pkgs = nixpkgs.legacyPackages.${system};
  installer = mkIso {
    inherit system;
    nixCfg = ./nix-cfg;
    extraModules = [
      ({ lib, modulesPath, ... }: {
        # The test driver's backdoor (as nixpkgs' own ISO boot tests do).
        imports = [ "${modulesPath}/testing/test-instrumentation.nix" ];
        # Calamares' GNOME session stays; the test drives the daemon with the CLI.
        services.nixos-offline-installer.logLevel = "debug";
        isoImage.forceTextMode = true;
      })
    ];
  };
  iso = installer.config.system.build.isoImage;
  isoFile = "${iso}/${installer.config.image.filePath}";
  qemu = "${pkgs.qemu_test}/bin/qemu-system-x86_64";
  # The socket and the group the module gives it (nix/installer-defaults.json).
  defaults = builtins.fromJSON (builtins.readFile ../installer-defaults.json);
  socket = defaults.daemon.socket;
  socketGroup = defaults.service.socketGroup;
in
pkgs.testers.runNixOSTest {
  name = "nixos-offline-installer";
  nodes = { };
  testScript = ''
    import json, subprocess, os
    disk = os.path.join(os.environ.get("TMPDIR", "/tmp"), "target.qcow2")
    subprocess.run(["${pkgs.qemu_test}/bin/qemu-img", "create", "-f", "qcow2", disk, "20G"], check=True)

    # -nic none: no network device at all, so any download attempt fails.
    # 8 GB: GNOME, Calamares and an evaluation of NixOS, with vm.panic_on_oom set by the test instrumentation.
    common = "-m 8192 -smp 2 -nic none -drive file=" + disk + ",if=virtio,format=qcow2"

    def install(root, user, events):
        """Installs through the daemon's CLI; returns (result data, nix-build's log lines)."""
        live.succeed(f"nixos-offline-installer install --root {root} --user {user} --json > {events}")
        parsed = [json.loads(line) for line in live.succeed(f"cat {events}").splitlines() if line.startswith("{")]
        result = next(e["data"] for e in parsed if e["type"] == "result")
        built = [l for e in parsed if e["type"] == "log" and e["data"].get("source") == "nix-build" for l in e["data"]["lines"]]
        return result, built

    live = create_machine(start_command="${qemu} -enable-kvm -cdrom ${isoFile} -boot d " + common, name="live")
    live.start()
    live.wait_for_unit("nixos-offline-installer.service")
    live.succeed("test -S ${socket}")
    live.succeed("test -f /iso/nix-cfg/configuration.nix")
    manifest = json.loads(live.succeed("cat /iso/nix-cfg.manifest.json"))

    with subtest("builds go through nix-daemon, and only the socket group may use the installer"):
        live.succeed("systemctl show nixos-offline-installer -p Environment | grep -q NIX_REMOTE=daemon")
        live.succeed("id -nG nixos | grep -qw ${socketGroup}")
        live.succeed("stat -c %G ${socket} | grep -qx ${socketGroup}")

    with subtest("partition and mount the empty disk"):
        live.succeed(
            "parted --script /dev/vda -- mklabel msdos mkpart primary ext4 1MiB 100%",
            "udevadm settle",
            "mkfs.ext4 -L nixos /dev/vda1",
            "mount /dev/disk/by-label/nixos /mnt",
        )

    with subtest("the checks pass, and a wrong user is refused before anything is written"):
        print(live.succeed("nixos-offline-installer validate --user tech"))
        live.fail("nixos-offline-installer install --root /mnt --user mallory")
        live.fail("test -e /mnt/etc/nixos")

    with subtest("the unchanged configuration installs the system the ISO carries, building nothing"):
        result, nix_build = install("/mnt", "tech", "/tmp/events.json")
        assert result["state"] == "succeeded", result
        assert result["toplevel"] == manifest["toplevel"], (result["toplevel"], manifest["toplevel"])
        planned = [l for l in nix_build if "will be built" in l]
        assert planned == [], planned
        live.succeed("test -L /mnt/nix/var/nix/profiles/system")
        live.succeed("test -f /mnt/etc/nixos/hardware-configuration.nix")
        live.succeed("test -f /mnt/var/log/nixos-offline-installer/install.log")

    with subtest("a changed configuration is built on the live system, through the unit and nix-daemon"):
        variant = '{ imports = [ ./base.nix ]; environment.etc."offline-variant".text = "built offline"; }'
        live.succeed(
            "cp -r --no-preserve=mode /iso/nix-cfg /tmp/nix-cfg",
            "mv /tmp/nix-cfg/configuration.nix /tmp/nix-cfg/base.nix",
            f"echo '{variant}' > /tmp/nix-cfg/configuration.nix",
        )
        result, nix_build = install("/mnt", "tech", "/tmp/events-variant.json")
        assert result["state"] == "succeeded", result
        assert result["toplevel"] != manifest["toplevel"]
        assert any("will be built" in l for l in nix_build), nix_build[-20:]
        live.succeed("test -d /mnt/etc/nixos.backup-*")
        live.succeed("umount /mnt")
    live.shutdown()

    installed = create_machine(start_command="${qemu} -enable-kvm -boot c " + common, name="installed")
    installed.start()
    installed.wait_for_unit("multi-user.target")
    installed.succeed("id tech")
    installed.succeed("test -f /var/log/nixos-offline-installer/install.log")
    installed.succeed("grep -q offline-test /etc/hostname")
    installed.succeed("grep -qx 'built offline' /etc/offline-variant")
    installed.shutdown()
  '';
}
