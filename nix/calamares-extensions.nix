# calamares-nixos-extensions with this project's settings, module configs and
# the nixos-offline job in place of the stock `nixos` job and internet check.
{ calamares-nixos-extensions, nixos-offline-installer, desktop ? "gnome" }:
calamares-nixos-extensions.overrideAttrs (old: {
  postInstall = (old.postInstall or "") + ''
    ours=${nixos-offline-installer}/share/nixos-offline-installer/calamares
    cp $ours/config/settings.conf $out/share/calamares/settings.conf
    mkdir -p $out/share/calamares/modules
    cp $ours/config/modules/*.conf $out/share/calamares/modules/
    cp -r $ours/modules/nixos-offline $out/lib/calamares/modules/
    chmod -R u+w $out/lib/calamares/modules/nixos-offline
    cp $ours/modules/nixos-offline/nixos-offline.conf $out/share/calamares/modules/
    # Offer the configured desktop first: only its packages are on the ISO.
    substituteInPlace $out/share/calamares/modules/packagechooser.conf \
      --replace-fail 'default: gnome' 'default: "${desktop}"'
  '';
})
