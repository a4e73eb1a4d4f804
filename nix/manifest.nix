# Builds the ISO manifest (JSON): manifest-data.nix plus the closure size of
# the shipped system, which the daemon and the ISO docs use for disk space.
{ runCommand, jq, closureInfo, evaluated, configDir ? "/iso/nix-cfg", hardwareProfiles ? { }, flake ? null }:
let
  data = import ./manifest-data.nix { inherit evaluated configDir hardwareProfiles flake; };
  closure = closureInfo { rootPaths = [ evaluated.config.system.build.toplevel ]; };
in
runCommand "nixos-offline-installer-manifest.json"
  {
    nativeBuildInputs = [ jq ];
    data = builtins.toJSON data;
    passAsFile = [ "data" ];
  }
  ''
    jq --argjson bytes "$(cat ${closure}/total-nar-size)" '. + { closureBytes: $bytes }' "$dataPath" > $out
  ''
