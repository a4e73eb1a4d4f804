# The built-in hardware profiles (nix/hardware-profiles/<name>.nix) an ISO for
# SYSTEM carries: those whose platforms in hardware-profiles.json include it.
# Each built-in profile is an x86 PC or x86 guest (Intel/AMD microcode, x86-only
# kernel modules and guest additions), so an aarch64 ISO gets none of them and
# only the template's system and nix-cfg/hardware-profiles/.
system:
let
  table = builtins.fromJSON (builtins.readFile ./hardware-profiles.json);
  names = builtins.filter (name: builtins.elem system table.${name}) (builtins.attrNames table);
in
builtins.listToAttrs (map (name: { inherit name; value = ./hardware-profiles + "/${name}.nix"; }) names)
