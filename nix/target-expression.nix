# The NixOS expression the daemon gets on the ISO (--nixos-expr): a folder
# whose default.nix is target-expression-entry.nix, evaluating the target with
# target-system.nix and the very arguments the ISO build called it with.
{ runCommand, target }:
runCommand "nixos-offline-installer-target-expression"
  {
    settings = builtins.toJSON target.targetSettings;
    passAsFile = [ "settings" ];
    # The nixpkgs source it evaluates comes with it (a reference of this folder).
    inherit (target) nixpkgsSource;
  }
  ''
    mkdir $out
    cp ${./target-system.nix} $out/target-system.nix
    cp ${./target-expression-entry.nix} $out/default.nix
    cp "$settingsPath" $out/target.json
    echo "$nixpkgsSource" > $out/nixpkgs-source
  ''
