# What nix/target-system.nix needs to know about the nixpkgs flake input, as
# plain data (written to JSON on the ISO): its store path without a string
# context, and the source info Nix gives a locked input (narHash, rev,
# shortRev, lastModified, lastModifiedDate, ...), which nixpkgs' flake turns
# into the NixOS version.
input:
let
  info = input.sourceInfo or input;
in
builtins.removeAttrs info [ "outPath" ] // {
  path = builtins.unsafeDiscardStringContext (toString info.outPath);
}
