# default.nix of the NixOS expression on the ISO (target-expression.nix): the
# target as the ISO build evaluated it, with the settings recorded then. The
# folder refers to the nixpkgs source, so readFile gives the JSON that store
# reference, which fromJSON refuses; target-system.nix finds the source itself.
import ./target-system.nix (builtins.fromJSON (builtins.unsafeDiscardStringContext (builtins.readFile ./target.json)))
