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
  isoFile = "${iso}/iso/${iso.isoName}";
  qemu = "${pkgs.qemu_test}/bin/qemu-system-x86_64";
in
pkgs.testers.runNixOSTest {
  name = "nixos-offline-installer";
  nodes = { };
  testScript = ''
    import subprocess, os
    disk = os.path.join(os.environ.get("TMPDIR", "/tmp"), "target.qcow2")
    subprocess.run(["${pkgs.qemu_test}/bin/qemu-img", "create", "-f", "qcow2", disk, "20G"], check=True)

    # -nic none: no network device at all, so any download attempt fails.
    common = "-m 4096 -smp 2 -nic none -drive file=" + disk + ",if=virtio,format=qcow2"

    live = create_machine(start_command="${qemu} -enable-kvm -cdrom ${isoFile} -boot d " + common, name="live")
    live.start()
    live.wait_for_unit("nixos-offline-installer.service")
    live.succeed("test -S /run/nixos-offline-installer/ipc.sock")
    live.succeed("test -f /iso/nix-cfg/configuration.nix")

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

    with subtest("install through the daemon, offline"):
        print(live.succeed("nixos-offline-installer install --root /mnt --user tech --json > /tmp/events.json; tail -n 3 /tmp/events.json"))
        live.succeed("grep -q '\"state\":\"succeeded\"' /tmp/events.json")
        live.succeed("test -L /mnt/nix/var/nix/profiles/system")
        live.succeed("test -f /mnt/etc/nixos/hardware-configuration.nix.template")
        live.succeed("test -f /mnt/var/log/nixos-offline-installer/install.log")
        live.succeed("umount /mnt")
    live.shutdown()

    installed = create_machine(start_command="${qemu} -enable-kvm -boot c " + common, name="installed")
    installed.start()
    installed.wait_for_unit("multi-user.target")
    installed.succeed("id tech")
    installed.succeed("test -f /var/log/nixos-offline-installer/install.log")
    installed.succeed("grep -q offline-test /etc/hostname")
    installed.shutdown()
  '';
}
