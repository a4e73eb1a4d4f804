# The daemon and CLI as a Nix package, with the Calamares module and configs
# under share/ and the systemd unit under lib/systemd/system/.
#
# Dependencies come from package-lock.json through importNpmLock, so no hash
# has to be kept in step with it. The lock records integrity hashes but no
# download URLs (this project's npm setting omits them), so the registry's URL
# is an argument: the flake reads it from nix/npm-registry.txt (see README).
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs_24,
  makeWrapper,
  npmRegistry,
}:
let
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../src
      ../nix/config-facts.nix
      ../nix/desktops.json
      ../nix/choice-options.json
      ../nix/install-phases.json
      ../nix/installer-defaults.json
      ../nix/locale-categories.json
      ../nix/calamares-pages.json
      ../calamares/modules
      ../calamares/config
      ../calamares/qml
      ../systemd
      ../docs
    ];
  };
  registry = lib.removeSuffix "/" npmRegistry;
  manifest = lib.importJSON ../package.json;
  lock = lib.importJSON ../package-lock.json;
  # npm only warns about engines; the tests run on the Node 24 of tools/node24, so
  # the build refuses an older one (22 ends in April 2027, inside 26.11's life).
  nodeRange = manifest.engines.node;
  nodeMinimum =
    if lib.hasPrefix ">=" nodeRange then lib.removePrefix ">=" nodeRange
    else throw "package.json engines.node is \"${nodeRange}\"; nix/package.nix reads only \">=X.Y\".";
  # "node_modules/@scope/name" -> "<registry>/@scope/name/-/name-1.2.3.tgz", npm's own tarball layout.
  tarball = path: module:
    let
      name = lib.last (lib.splitString "node_modules/" path);
      base = lib.last (lib.splitString "/" name);
    in
    "${registry}/${name}/-/${base}-${module.version}.tgz";
  packageLock = lock // {
    packages = lib.mapAttrs
      (path: module: if path == "" || module ? resolved || module.link or false then module else module // { resolved = tarball path module; })
      lock.packages;
  };
in
assert lib.assertMsg (lib.versionAtLeast nodejs_24.version nodeMinimum)
  "nodejs_24 of this nixpkgs is ${nodejs_24.version}, but package.json needs Node ${nodeRange}: update the flake's nixpkgs input (nix flake update) to a release whose nodejs_24 is new enough.";
buildNpmPackage {
  pname = "nixos-offline-installer";
  inherit (manifest) version;
  inherit src;
  nodejs = nodejs_24;

  npmDeps = importNpmLock {
    npmRoot = src;
    inherit packageLock;
  };
  npmConfigHook = importNpmLock.npmConfigHook;
  npmFlags = [ "--ignore-scripts" ];
  nativeBuildInputs = [ makeWrapper ];

  # tsc -> dist/
  npmBuildScript = "build";

  installPhase = ''
    runHook preInstall
    npm prune --omit=dev --ignore-scripts
    app=$out/lib/nixos-offline-installer
    mkdir -p $app/nix $out/bin $out/share/nixos-offline-installer $out/lib/systemd/system
    cp -r dist node_modules $app/
    # The source's own package.json: npm's config hook may leave the build folder's rewritten.
    cp ${src}/package.json $app/package.json
    # Read at run time next to dist/ (../../nix from dist/validate).
    cp nix/config-facts.nix nix/desktops.json nix/choice-options.json nix/install-phases.json nix/installer-defaults.json nix/locale-categories.json nix/calamares-pages.json $app/nix/
    makeWrapper ${lib.getExe nodejs_24} $out/bin/nixos-offline-installer \
      --add-flags $app/dist/cli/main.js
    cp -r calamares $out/share/nixos-offline-installer/
    # The Calamares module reads the tables it shares with the daemon from its own folder.
    cp nix/install-phases.json nix/installer-defaults.json nix/locale-categories.json $out/share/nixos-offline-installer/calamares/modules/nixos-offline/
    cp -r docs $out/share/nixos-offline-installer/
    substitute systemd/nixos-offline-installer.service $out/lib/systemd/system/nixos-offline-installer.service \
      --replace-fail /run/current-system/sw/bin/nixos-offline-installer $out/bin/nixos-offline-installer
    runHook postInstall
  '';

  meta = {
    description = "Installs NixOS from the installation medium's own store, with no network";
    license = lib.licenses.mit;
    mainProgram = "nixos-offline-installer";
    platforms = lib.platforms.linux;
  };
}
