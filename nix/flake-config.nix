# The ISO side of a nix-cfg that is a flake (flake.nix + flake.lock with
# nixosConfigurations). It calls the flake from its flake.lock as Nix does:
# every lock node is fetched by its locked reference (builtins.fetchTree, so
# by narHash: no flake registry, nothing unlocked), `follows` are resolved
# from the root node, and each input gets its outputs plus its source info.
# What it gives:
#   target     the chosen configuration (as lib.nixosSystem would give it),
#              plus what nix/iso.nix takes from a target: the flake's `nixpkgs`
#              input as nixpkgsSource (the ISO's <nixpkgs>) and targetSettings
#              for nix/target-system.nix (the daemon's NixOS expression for a
#              classic folder dropped into /tmp/nix-cfg: this nixpkgs);
#   inputPaths every locked input's store path, recursively (follows
#              included): all go into the ISO's store (isoImage.storeContents),
#              which is where the installer finds them offline;
#   manifest   the manifest's "flake" entry: the chosen configuration, every
#              configuration's networking.hostName, the locked inputs.
# Needs a Nix with flakes enabled (fetchTree), as building the ISO does.
#
#   nix-instantiate --eval --strict --json --extra-experimental-features 'nix-command flakes' \
#     -E '(import ./nix/flake-config.nix { nixCfg = ./nix-cfg; }).manifest'
{
  # The flake's folder: flake.nix and flake.lock at its top.
  nixCfg,
  # The nixosConfigurations entry built into the ISO; null: the flake's only one.
  configuration ? null,
  # The ISO's system, for targetSettings.
  system ? null,
}:
let
  inherit (builtins) attrNames concatStringsSep filter fromJSON head isList length mapAttrs pathExists readFile removeAttrs tail tryEval;

  lockFile = nixCfg + "/flake.lock";
  lock =
    if pathExists lockFile then fromJSON (readFile lockFile)
    else throw "${toString nixCfg} is a flake without flake.lock: run `nix flake lock` in it (and `git add flake.lock`), so every input is locked and can be put on the ISO.";

  # An input spec is a node id, or a `follows` path walked from the root node.
  nodeOf = spec: if isList spec then walk lock.root spec else spec;
  walk = node: path: if path == [ ] then node else walk (nodeOf lock.nodes.${node}.inputs.${head path}) (tail path);

  # A `path:./sub` input is part of the flake's own folder.
  inFolder = node: (node.locked.type or "") == "path" && builtins.substring 0 1 (node.locked.path or "/") != "/";

  # The root as the daemon's `path:` flake sees it: the folder in the store, named "source".
  sourceOf = id: node:
    if id == lock.root then { outPath = builtins.path { path = nixCfg; name = "source"; }; }
    else if inFolder node then { outPath = nixCfg + "/${node.locked.path}"; }
    else if node ? locked.narHash then builtins.fetchTree (removeAttrs node.locked [ "dir" ])
    else throw "flake.lock in ${toString nixCfg} leaves the input node \"${id}\" unlocked (no narHash): run `nix flake lock`.";

  called = mapAttrs
    (id: node:
      let
        sourceInfo = sourceOf id node;
        subdir = node.locked.dir or "";
        flake = import (sourceInfo.outPath + (if subdir == "" then "" else "/${subdir}") + "/flake.nix");
        inputs = mapAttrs (_: spec: called.${nodeOf spec}) (node.inputs or { });
        outputs = flake.outputs (inputs // { self = result; });
        result = outputs // sourceInfo // { inherit inputs outputs sourceInfo; _type = "flake"; };
      in
      if node.flake or true then result else sourceInfo)
    lock.nodes;

  self = called.${lock.root};
  configurations = self.nixosConfigurations or (throw "${toString nixCfg}/flake.nix has no nixosConfigurations output.");
  names = attrNames configurations;
  chosen =
    if configuration != null then
      (if configurations ? ${configuration} then configuration
       else throw "${toString nixCfg}/flake.nix has no nixosConfigurations.${configuration}; it has: ${concatStringsSep ", " names}.")
    else if length names == 1 then head names
    else throw "${toString nixCfg}/flake.nix has ${toString (length names)} nixosConfigurations (${concatStringsSep ", " names}): say which one the ISO carries built (flakeConfiguration in flake.nix's mkIso).";

  # Every locked input outside the folder, by node id (each once, however many follow it).
  lockedIds = filter (id: id != lock.root && !(inFolder lock.nodes.${id})) (attrNames lock.nodes);
  inputs = map
    (id: {
      name = id;
      type = lock.nodes.${id}.locked.type or null;
      narHash = lock.nodes.${id}.locked.narHash or null;
      storePath = (sourceOf id lock.nodes.${id}).outPath;
    })
    lockedIds;

  nixpkgsInput = self.inputs.nixpkgs or null;
  noNixpkgs = throw "${toString nixCfg}/flake.nix has no input named nixpkgs: the ISO points <nixpkgs> at that input.";

  # A configuration whose hostName cannot be evaluated here matches no hostname.
  hostNameOf = c: let h = tryEval (c.config.networking.hostName or null); in if h.success then h.value else null;
in
{
  configuration = chosen;
  target = configurations.${chosen} // {
    nixpkgsSource = if nixpkgsInput == null then noNixpkgs else nixpkgsInput.outPath;
    targetSettings = if nixpkgsInput == null then noNixpkgs else { nixpkgs = import ./flake-source-info.nix nixpkgsInput; inherit system; };
  };
  inputPaths = map (i: i.storePath) inputs;
  # The store copy the configuration is evaluated from (its ./hardware-configuration.nix is imported from here).
  source = (sourceOf lock.root lock.nodes.${lock.root}).outPath;
  manifest = {
    configuration = chosen;
    configurations = mapAttrs (_: c: { hostName = hostNameOf c; }) configurations;
    inherit inputs;
  };
}
