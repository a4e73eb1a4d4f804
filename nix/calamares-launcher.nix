# nixpkgs' calamares-nixos (Calamares wrapped to read calamares-nixos-extensions'
# config) with our launcher as bin/calamares: it writes a settings.conf without
# the pages the configuration in use decides before Calamares starts
# (nix/calamares-launcher.sh). Everything else of Calamares (its desktop file,
# which the ISO's autostart item copies) is linked as calamares-nixos links it,
# but for its polkit policy (below).
{ runCommand, coreutils, calamares, calamares-nixos-extensions, nixos-offline-installer }:
runCommand "calamares-nixos-offline"
  {
    inherit (calamares) pname version meta;
  }
  ''
    mkdir -p $out/bin $out/share
    for i in ${calamares}/*; do
      case "$(basename "$i")" in
        bin | share) ;;
        *) ln -s "$i" $out/ ;;
      esac
    done
    # share/ is linked entry by entry, except polkit-1: Calamares' polkit action
    # names the program pkexec may start as root. nixpkgs' calamares up to 3.4.0
    # names /run/current-system/sw/bin/calamares, which is ours too (the copy
    # below leaves it as it is); later versions name their own store path,
    # ${calamares}/bin/calamares, where nixpkgs' calamares-nixos is an override
    # of calamares with its own. Here that path is not the program the desktop
    # file starts, so the copy names ours, $out/bin/calamares.
    for i in ${calamares}/share/*; do
      [ "$(basename "$i")" = polkit-1 ] || ln -s "$i" $out/share/
    done
    if [ -d ${calamares}/share/polkit-1 ]; then
      mkdir -p $out/share/polkit-1/actions
      for i in ${calamares}/share/polkit-1/*; do
        [ "$(basename "$i")" = actions ] || ln -s "$i" $out/share/polkit-1/
      done
      for policy in ${calamares}/share/polkit-1/actions/*; do
        [ -e "$policy" ] || continue
        sed "s|${calamares}/bin/calamares|$out/bin/calamares|g" "$policy" > "$out/share/polkit-1/actions/$(basename "$policy")"
      done
    fi
    substitute ${./calamares-launcher.sh} $out/bin/calamares \
      --replace-fail @extensions@ ${calamares-nixos-extensions} \
      --replace-fail @installer@ ${nixos-offline-installer}/bin/nixos-offline-installer \
      --replace-fail @calamares@ ${calamares}/bin/calamares \
      --replace-fail @coreutils@ ${coreutils}
    chmod +x $out/bin/calamares
  ''
