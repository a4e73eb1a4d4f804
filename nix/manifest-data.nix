# The ISO manifest's content: facts about the configuration shipped on the ISO,
# so the daemon can check the installer's choices against it in an instant
# instead of evaluating NixOS on the live system. Versioned; read by
# src/validate/config-facts.ts. Needs no nixpkgs (closureBytes is added by
# manifest.nix, which does).
{
  # The evaluated target configuration (lib.nixosSystem { ... }).
  evaluated,
  # Where the ISO shows the configuration folder in the live system.
  configDir ? "/iso/nix-cfg",
  # The hardware profiles the ISO covers (name -> the file's text; nix/hardware-profiles.nix).
  hardwareProfiles ? { },
  # For a flake nix-cfg: nix/flake-config.nix's `manifest` (configuration, configurations, inputs).
  flake ? null,
}:
let
  facts = import ./config-facts.nix { inherit evaluated; withDrvPath = false; };
in
{
  inherit (facts) version users desktops fixedSettings;
  inherit configDir hardwareProfiles;
  toplevel = "${evaluated.config.system.build.toplevel}";
} // (if flake == null then { } else { inherit flake; })
# A configuration that uses disko: its format and mount scripts (their store
# paths put them and their closure in the ISO's store, through the manifest's
# references), the disks' devices written into them, and where they mount.
// (if facts.disko == null then { } else { inherit (facts) disko; })
