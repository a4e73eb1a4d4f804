# Stands in for the installer's flake until flake.nix names it, so that the
# first `nix build` says what to edit instead of failing to fetch a placeholder.
# Delete this folder once flake.nix names the installer.
{
  description = "No installer named yet: edit inputs.nixos-offline-installer.url in flake.nix";
  outputs = { self }: {
    lib.mkIso = _: throw "flake.nix names no installer yet: set inputs.nixos-offline-installer.url to the installer's flake (the one you ran `nix flake init -t` with, e.g. \"github:OWNER/nixos-offline-installer\"), then run `nix flake update`.";
  };
}
