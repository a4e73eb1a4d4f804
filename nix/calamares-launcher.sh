#!/bin/sh
# Starts Calamares as nixpkgs' calamares-nixos does (calamares-nixos-extensions'
# config through XDG_CONFIG_DIRS and --xdg-config), one step earlier:
# `nixos-offline-installer calamares-settings` writes a settings.conf without
# the pages whose choices the configuration in use decides itself (also a
# /tmp/nix-cfg dropped in after boot) into a private folder put first in
# XDG_CONFIG_DIRS, where Calamares looks for settings.conf first; module
# configs still come from the extensions. If that step fails, Calamares
# starts with the extensions' settings.conf. calamares-launcher.nix puts in
# the store paths: every program is named by one, since pkexec starts this with
# PATH=/usr/sbin:/usr/bin:/sbin:/bin (on NixOS /usr/bin holds only env).
ext=@extensions@
if [ -e "$ext/etc/calamares/settings-all-pages.conf" ]; then
  all=$ext/etc/calamares/settings-all-pages.conf
else
  all=$ext/share/calamares/settings-all-pages.conf
fi
config=$ext/etc${XDG_CONFIG_DIRS:+:$XDG_CONFIG_DIRS}
# mktemp: a fresh name only this user can use, in their runtime folder when there is one (none under pkexec).
if dir=$(@coreutils@/bin/mktemp -d "${XDG_RUNTIME_DIR:-/tmp}/nixos-offline-calamares.XXXXXX"); then
  @installer@ calamares-settings --settings "$all" --out "$dir" || true
  if [ -e "$dir/calamares/settings.conf" ]; then config=$dir:$config; fi
fi
export XDG_CONFIG_DIRS="$config"
export XDG_DATA_DIRS="$ext/share${XDG_DATA_DIRS:+:$XDG_DATA_DIRS}"
exec @calamares@ --xdg-config "$@"
