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
  # choice-options.json's table (each choice's setting and its options, the
  # current name first), passed the same way.
  choiceOptions ? builtins.fromJSON (builtins.readFile ./choice-options.json),
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

  # config.a.b.c by a dotted name, or `default` when any part is missing.
  get = dotted: default:
    let parts = filter isString (split "\\." dotted);
    in foldl' (acc: name: if isAttrs acc && acc ? ${name} then acc.${name} else default) config parts;

  desktopOptions = desktops;
  users = config.users.users or { };
  normalUsers = filter (name: (users.${name}.isNormalUser or false) == true) (attrNames users);
  # Any way NixOS gives a user a password; with users.mutableUsers = false the one Calamares sets does not last.
  passwordOptions = [ "hashedPassword" "hashedPasswordFile" "password" "passwordFile" "initialPassword" "initialHashedPassword" ];
  hasPassword = name: length (filter (o: (users.${name}.${o} or null) != null) passwordOptions) > 0;
  loader = config.boot.loader or { };
  systemdBoot = enabled "boot.loader.systemd-boot.enable";
  grub = loader.grub or { };
  # nixpkgs: GRUB is on unless another loader turns it off (systemd-boot does, with mkDefault false).
  grubEnabled = grub.enable or (!systemdBoot);
  # Values the installer's choices set as defaults; whatever the configuration sets wins.
  setting = dotted: let v = get dotted null; in if isString v then v else null;
  # A setting's value under the first of its option names that has one (older names after the current).
  firstSetting = names: foldl' (found: name: if found != null then found else setting name) null names;

  # disko (nix-community/disko, module.nix and lib/default.nix): a configuration
  # that declares disko.devices.disk gets system.build.formatScript (partitions
  # and makes the file systems, wiping nothing) and mountScript (mounts them
  # under disko.rootMountPoint, default /mnt), each a bash script with every
  # disk's `device` written into it. Every release has these names; newer ones
  # also have `format` and `mount` ($out/bin/disko-format), used if the legacy
  # names go (disko 2.0).
  build = (config.system or { }).build or { };
  diskoDisks = ((config.disko or { }).devices or { }).disk or { };
  diskoScript = legacy: new: bin:
    if build ? ${legacy} then { drv = build.${legacy}; path = "${build.${legacy}}"; }
    else { drv = build.${new}; path = "${build.${new}}/bin/${bin}"; };
  diskoFormat = diskoScript "formatScript" "format" "disko-format";
  diskoMount = diskoScript "mountScript" "mount" "disko-mount";
  disko = if !(isAttrs diskoDisks) || diskoDisks == { } then null else {
    formatScript = diskoFormat.path;
    mountScript = diskoMount.path;
    rootMountPoint = config.disko.rootMountPoint or "/mnt";
    disks = builtins.mapAttrs (name: disk: disk.device) diskoDisks;
  } // (if withDrvPath then { drvPaths = [ diskoFormat.drv.drvPath diskoMount.drv.drvPath ]; } else { });
  # The option's best definition priority (nixpkgs lib.modules: an option value's
  # highestPrio; mkDefault is 1000, a plain definition 100, none 9999). Below
  # 999 (src/prepare/installer-choices.ts CHOICE_PRIORITY) the configuration sets
  # the option itself, and a choice the installer makes cannot apply; its own
  # mkDefault leaves the choice to the installer. Without `options` (an
  # evaluation that has none) nothing counts as set.
  options = system.options or { };
  priority = dotted:
    let found = foldl' (acc: name: if isAttrs acc && acc ? ${name} then acc.${name} else null) options (filter isString (split "\\." dotted));
    in if isAttrs found && found ? highestPrio then found.highestPrio else 9999;
  isFixed = name: length (filter (o: priority o < 999) choiceOptions.${name}.options) > 0;
in
{
  version = 1;
  users = normalUsers;
  desktops = filter (id: length (filter enabled desktopOptions.${id}) > 0) (attrNames desktopOptions);
  mutableUsers = get "users.mutableUsers" true;
  usersWithoutPassword = filter (name: !(hasPassword name)) normalUsers;
  bootLoader = {
    systemdBoot = systemdBoot;
    grub = grubEnabled == true;
    grubEfi = (grub.efiSupport or false) == true;
    # Every disk GRUB's boot code goes onto (nixpkgs grub.nix: device, devices, and each of mirroredBoots' devices).
    grubDevices = filter (d: isString d && d != "") ((grub.devices or [ ]) ++ [ (grub.device or "") ] ++ builtins.concatLists (map (m: m.devices or [ ]) (grub.mirroredBoots or [ ])));
  };
  settings = builtins.mapAttrs (name: row: firstSetting row.options) choiceOptions;
  inherit disko;
  # The installer's choices the configuration decides itself (Calamares' pages for them can be left out).
  fixedSettings = filter isFixed (attrNames choiceOptions);
} // (if withDrvPath then { drvPath = config.system.build.toplevel.drvPath; } else { })
