{
  description = "My NixOS configuration (nix-cfg/) and the offline installer ISO that installs it";

  # CHANGE: where this installer's flake lives (the one you ran `nix flake init -t` with),
  # e.g. "github:OWNER/nixos-offline-installer"; then delete installer-not-chosen/.
  # Until then the first `nix build` stops with a message saying so.
  # `nix flake update` brings its fixes and the NixOS release it pins.
  inputs.nixos-offline-installer.url = "path:./installer-not-chosen";

  outputs = { self, nixos-offline-installer }:
    let
      mkIso = system: nixos-offline-installer.lib.mkIso {
        inherit system;
        nixCfg = ./nix-cfg;
      };
    in
    {
      # nix build .#iso  (on an x86_64 machine; see the installer's README for aarch64)
      packages.x86_64-linux.iso = (mkIso "x86_64-linux").config.system.build.isoImage;
      packages.aarch64-linux.iso = (mkIso "aarch64-linux").config.system.build.isoImage;
    };
}
