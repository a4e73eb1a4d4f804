# The installed system, evaluated the one way both the ISO build and the daemon
# on the ISO use (its --nixos-expr, see target-expression.nix), so an unchanged
# nix-cfg evaluates to the very toplevel the ISO carries and nothing is built.
#
# It calls the nixpkgs flake as Nix calls a locked flake input (call-flake.nix:
# `self` is its outputs with its source info), from source info recorded as
# plain data at ISO build time; `self.lib.nixosSystem` then adds what a flake
# build adds (version suffix and revision, nixpkgs.flake.source and with it the
# registry pin and NIX_PATH). Needs only builtins until nixpkgs is imported.
settings@{
  # The nixpkgs flake input's source info (nix/flake-source-info.nix): store
  # path, narHash and, when known, rev, shortRev, lastModified, lastModifiedDate.
  nixpkgs,
  system,
}:
# The interface of nixpkgs' nixos/default.nix, which the daemon's nix-build and
# nix/config-facts.nix call: the configuration defaults to <nixos-config>.
{ configuration ? <nixos-config>, ... }:
let
  # The input's own store path, found by its NAR hash: present wherever this
  # runs (the ISO carries it), so nothing is copied or fetched, and the string
  # carries the same store reference for the ISO build and the daemon.
  outPath = builtins.path { path = nixpkgs.path; name = "source"; sha256 = nixpkgs.narHash; };
  sourceInfo = builtins.removeAttrs nixpkgs [ "path" ] // { inherit outPath; };
  flake = import "${outPath}/flake.nix";
  outputs = flake.outputs { inherit self; };
  self = outputs // sourceInfo // { inherit outPath outputs sourceInfo; inputs = { }; _type = "flake"; };
  evaluated = self.lib.nixosSystem {
    inherit system;
    modules = [ configuration ];
  };
in
evaluated // {
  system = evaluated.config.system.build.toplevel;
  # The nixpkgs source as a store path with its reference, for the ISO to carry and point <nixpkgs> at.
  nixpkgsSource = outPath;
  # The arguments above, which the ISO writes down for the daemon (target-expression.nix).
  targetSettings = settings;
}
