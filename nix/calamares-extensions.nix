# calamares-nixos-extensions with this project's settings, module configs and
# the nixos-offline job in place of the stock `nixos` job and internet check.
#
# The package keeps its configuration in etc/calamares (current nixpkgs, which
# builds it from an in-tree source) or share/calamares (older releases): ours
# goes wherever its own settings.conf is, so Calamares finds it the same way.
#
# hiddenPages: Calamares pages left out of the sequence, because the
# configuration decides all they ask (nix/calamares-pages.json, from
# config-facts.nix's fixedSettings; see iso.nix).
{ calamares-nixos-extensions, nixos-offline-installer, glibcLocales, desktop ? "gnome", hiddenPages ? [ ] }:
calamares-nixos-extensions.overrideAttrs (old: {
  postInstall = (old.postInstall or "") + ''
    ours=${nixos-offline-installer}/share/nixos-offline-installer/calamares
    if [ -e $out/etc/calamares/settings.conf ]; then conf=$out/etc/calamares; else conf=$out/share/calamares; fi
    test -e $conf/settings.conf || { echo "calamares-nixos-extensions has no settings.conf in etc/calamares or share/calamares" >&2; exit 1; }
    cp $ours/config/settings.conf $conf/settings.conf
    # The job modules of this package, wherever the system profile links them.
    substituteInPlace $conf/settings.conf \
      --replace-fail '/run/current-system/sw/lib/calamares/modules' "$out/lib/calamares/modules"
    mkdir -p $conf/modules
    cp $ours/config/modules/*.conf $conf/modules/
    cp -r $ours/modules/nixos-offline $out/lib/calamares/modules/
    chmod -R u+w $out/lib/calamares/modules/nixos-offline
    cp $ours/modules/nixos-offline/nixos-offline.conf $conf/modules/
    # The choices page's QML file, from the installer's package (not on any search path of Calamares').
    substituteInPlace $conf/modules/notesqml-choices.conf \
      --replace-fail '/run/current-system/sw/share/nixos-offline-installer/calamares/qml/nixos-offline-choices.qml' "$ours/qml/nixos-offline-choices.qml"
    # Every page, for the launcher (calamares-launcher.sh), which leaves out those of the configuration in use.
    cp $conf/settings.conf $conf/settings-all-pages.conf
    # Pages whose choices cannot apply: each must be in the sequence, then it is taken out.
    for page in ${toString hiddenPages}; do
      grep -qx "  - $page" $conf/settings.conf || { echo "settings.conf has no page $page to leave out" >&2; exit 1; }
      sed -i "/^  - $page\$/d" $conf/settings.conf
    done
    # Offer the configured desktop first: only its packages are on the ISO. The
    # pictures are the package's own (config/images), not in the system profile.
    substituteInPlace $conf/modules/packagechooser.conf \
      --replace-fail 'default: gnome' 'default: "${desktop}"' \
      --replace-fail '/run/current-system/sw/share/calamares/images/' "$conf/images/"
    # The language list, as upstream's locale.conf has it.
    substituteInPlace $conf/modules/locale.conf \
      --replace-fail '@glibcLocales@' ${glibcLocales}
  '';
})
