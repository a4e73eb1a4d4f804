# Where Nix fetches the daemon's npm dependencies: package-lock.json pins each
# one by integrity hash but records no download URL. npm's default registry,
# unless nix/npm-registry.txt (one URL, e.g. a mirror:
# `npm config get registry > nix/npm-registry.txt`) says otherwise.
let
  file = ./npm-registry.txt;
  # npm's documented default for its `registry` setting (`npm config get registry` on a fresh install).
  npmDefault = "https://registry.npmjs.org/";
  url = builtins.match "[[:space:]]*(https?://[^[:space:]]+)[[:space:]]*" (builtins.readFile file);
in
if !builtins.pathExists file then npmDefault
else if url == null then throw "nix/npm-registry.txt must hold one registry URL (http:// or https://), as `npm config get registry` prints it; delete the file to use npm's default registry."
else builtins.head url
