# Machines the ISO covers: the target system is also evaluated with each of
# these hardware configurations in place of nix-cfg's template, and every such
# variant (its runtime closure, and its build closure per buildDependencies)
# goes into the ISO's store. So CPU microcode, guest additions and the like
# that nixos-generate-config asks for on a real machine are on the ISO, and
# the install needs no download. The manifest lists the profiles (name and
# text) so the daemon can say which one a machine matches.
{ config, lib, pkgs, target, nixCfg, nixCfgFlake ? null, ... }:
let
  inherit (lib) mkOption types mapAttrs attrValues optionals;
  cfg = config.offlineInstaller;
  # Profiles the user adds: nix-cfg/hardware-profiles/<name>.nix, pasted from
  # `nixos-generate-config --show-hardware-config` on that machine.
  userDir = "${nixCfg}/hardware-profiles";
  userProfiles =
    if builtins.pathExists userDir
    then lib.mapAttrs' (file: _: lib.nameValuePair (lib.removeSuffix ".nix" file) "${userDir}/${file}")
      (lib.filterAttrs (file: kind: kind == "regular" && lib.hasSuffix ".nix" file) (builtins.readDir userDir))
    else { };
  # Only those for the ISO's platform (hardware-profiles.json): an x86 one does not evaluate for aarch64.
  builtin = import ./hardware-profiles-for.nix pkgs.stdenv.hostPlatform.system;
  # The template as the target imported it: lib.modules' disabledModules matches the exact path, and a
  # flake nix-cfg is evaluated from its own store copy (nix/flake-config.nix), not from "${nixCfg}".
  templates = [ "${nixCfg}/hardware-configuration.nix" ] ++ lib.optional (nixCfgFlake != null) "${nixCfgFlake.source}/hardware-configuration.nix";
  # The target, with PROFILE instead of the template.
  variant = profile: target.extendModules {
    modules = [
      {
        disabledModules = templates;
        imports = [ profile ];
      }
    ];
  };
  variants = mapAttrs (_: variant) cfg.hardwareProfiles;
in
{
  options.offlineInstaller.hardwareProfiles = mkOption {
    type = types.attrsOf types.path;
    default = builtin // userProfiles;
    defaultText = lib.literalMD "on x86_64: Intel and AMD PCs, QEMU/KVM, VirtualBox, VMware and Hyper-V guests (`nix/hardware-profiles.json`); on aarch64: none; plus every `nix-cfg/hardware-profiles/*.nix`";
    description = ''
      Hardware configurations (as nixos-generate-config writes them) that the
      ISO covers: the target system is built with each, and what each needs is
      put in the ISO's store. Set to { } to ship only the template's system.
    '';
  };

  options.offlineInstaller.hardwareProfileData = mkOption {
    type = types.attrsOf types.str;
    internal = true;
    readOnly = true;
    description = "The profiles' texts, for the manifest.";
  };

  config = {
    offlineInstaller.hardwareProfileData = mapAttrs (_: builtins.readFile) cfg.hardwareProfiles;
    isoImage.storeContents = lib.concatMap
      (v: [ v.config.system.build.toplevel ] ++ optionals (cfg.buildDependencies == "iso") [ v.config.system.build.toplevel.drvPath ])
      (attrValues variants);
  };
}
