// A nixosConfigurations name the installer takes: usable unquoted in a flake attribute path.
export const FLAKE_CONFIG_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;
