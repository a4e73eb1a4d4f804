# nixpkgs' calamares-nixos (Calamares wrapped to read calamares-nixos-extensions'
# config) with our launcher as bin/calamares: it writes a settings.conf without
# the pages the configuration in use decides before Calamares starts
# (nix/calamares-launcher.sh). Everything else of Calamares (its desktop file,
# which the ISO's autostart item copies) is linked as calamares-nixos links it.
{ runCommand, coreutils, calamares, calamares-nixos-extensions, nixos-offline-installer }:
runCommand "calamares-nixos-offline"
  {
    inherit (calamares) pname version meta;
  }
  ''
    mkdir -p $out/bin
    for i in ${calamares}/*; do
      [ "$(basename "$i")" = bin ] || ln -s "$i" $out/
    done
    substitute ${./calamares-launcher.sh} $out/bin/calamares \
      --replace-fail @extensions@ ${calamares-nixos-extensions} \
      --replace-fail @installer@ ${nixos-offline-installer}/bin/nixos-offline-installer \
      --replace-fail @calamares@ ${calamares}/bin/calamares \
      --replace-fail @coreutils@ ${coreutils}
    chmod +x $out/bin/calamares
  ''
