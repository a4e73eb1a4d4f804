# Facts about a NixOS configuration that the installer checks against the
# choices made in Calamares: the declared normal users, the enabled desktops
# (ids of desktops.json, the one table the daemon uses too) and the system's
# derivation. Used at ISO build time (for the manifest) and by the daemon at
# install time, with the same NixOS expression the build step uses.
#
# Reads only the evaluated `config`, with builtins alone (no nixpkgs lib), so
# it runs unchanged on nixpkgs and on a test's stand-in expression.
#
#   nix-instantiate --eval --strict --json nix/config-facts.nix \
#     --argstr nixos '<nixpkgs/nixos>' -I nixos-config=/tmp/nix-cfg/configuration.nix
{
  # The NixOS expression: a file path, or a lookup path such as <nixpkgs/nixos>.
  nixos ? "<nixpkgs/nixos>",
  # An evaluated NixOS (e.g. from a flake's nixosSystem) instead of `nixos`.
  evaluated ? null,
  withDrvPath ? true,
  # desktops.json's table; the daemon passes it when it gives this file's text
  # to `nix eval --apply` for a flake (pure evaluation reads no other file).
  desktops ? builtins.fromJSON (builtins.readFile ./desktops.json),
}:
let
  inherit (builtins) attrNames filter foldl' substring stringLength tryEval split isString isAttrs length;

  lookup = path:
    if substring 0 1 path == "<" then builtins.findFile builtins.nixPath (substring 1 (stringLength path - 2) path)
    else /. + path;

  system = if evaluated != null then evaluated else import (lookup nixos) { };
  inherit (system) config;

  # config.a.b.c by a dotted name; false when any part is missing or fails to evaluate.
  enabled = dotted:
    let
      parts = filter isString (split "\\." dotted);
      value = foldl' (acc: name: if isAttrs acc && acc ? ${name} then acc.${name} else null) config parts;
      safe = tryEval (value == true);
    in
    safe.success && safe.value;

  desktopOptions = desktops;
  users = config.users.users or { };
in
{
  version = 1;
  users = filter (name: (users.${name}.isNormalUser or false) == true) (attrNames users);
  desktops = filter (id: length (filter enabled desktopOptions.${id}) > 0) (attrNames desktopOptions);
} // (if withDrvPath then { drvPath = config.system.build.toplevel.drvPath; } else { })
