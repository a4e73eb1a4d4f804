# The Calamares pages to leave out for a configuration: those whose every
# choice it sets itself (config-facts.nix's fixedSettings), as the installer's
# choices are only defaults and could not apply (nix/calamares-pages.json).
# Builtins only, so the tests evaluate it without nixpkgs.
{ fixedSettings }:
let
  pages = builtins.fromJSON (builtins.readFile ./calamares-pages.json);
  fixed = setting: builtins.elem setting fixedSettings;
in
builtins.filter (page: builtins.all fixed pages.${page}) (builtins.attrNames pages)
