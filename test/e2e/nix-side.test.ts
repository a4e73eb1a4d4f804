// The Nix side, as far as it can run without nixpkgs (Nix 2.8 here): every
// .nix file parses; what needs no nixpkgs is evaluated for real; the files the
// Nix package and the Calamares override expect are where they expect them.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_CFG, NIX_CONFIG, NIXOS_EXPR, REPO, scratch } from '../helpers/env.js';
import { runCli } from '../helpers/cli.js';
import { startDaemon } from '../helpers/daemon.js';
import { writeFile, rm } from 'node:fs/promises';

const env = { ...process.env, NIX_CONFIG };

function nixFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.nix'], { cwd: REPO, encoding: 'utf8' });
  return listed.split('\n').filter(Boolean);
}

function evalJson(expression: string, extra: string[] = []): any {
  return JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expression, ...extra], { cwd: REPO, env, encoding: 'utf8' }));
}

describe('Nix files', () => {
  it('every .nix file parses with Nix', () => {
    const files = nixFiles();
    expect(files).toEqual(expect.arrayContaining(['flake.nix', 'nix/package.nix', 'nix/module.nix', 'nix/iso.nix', 'nix/manifest.nix', 'nix/manifest-data.nix', 'nix/config-facts.nix', 'nix/calamares-extensions.nix', 'nix/tests/offline-install.nix', 'nix-cfg/configuration.nix', 'nix-cfg/hardware-configuration.nix']));
    for (const file of files) execFileSync('nix-instantiate', ['--parse', join(REPO, file)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  });

  it('the manifest data evaluates for a configuration, and the daemon reads the manifest made from it', async () => {
    const expression = `import ./nix/manifest-data.nix { evaluated = import ${NIXOS_EXPR} { }; configDir = "${FIXTURE_CFG}"; }`;
    const data = evalJson(expression, ['-I', `nixos-config=${FIXTURE_CFG}/configuration.nix`]);
    expect(data).toMatchObject({ version: 1, configDir: FIXTURE_CFG, users: ['alice'], desktops: ['gnome'] });
    expect(data.toplevel).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-demo-stand-in$/);

    // manifest.nix adds closureBytes with nixpkgs' closureInfo; here the daemon gets the same data plus a size.
    const dir = await scratch('manifest');
    const manifest = join(dir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ ...data, closureBytes: 15_000_000 }));
    const daemon = await startDaemon({ dir, configDirs: [FIXTURE_CFG], extraArgs: ['--manifest', manifest] });
    try {
      const run = await runCli(['validate', '--socket', daemon.socket, '--json', '--user', 'alice', '--desktop', 'gnome']);
      expect(run.code).toBe(0);
      expect(run.events[0]!.data.validation.facts).toMatchObject({ origin: 'manifest', users: ['alice'], desktops: ['gnome'], toplevel: data.toplevel });
    } finally {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('config-facts.nix also takes an evaluated system (the ISO build passes lib.nixosSystem)', () => {
    const facts = evalJson(`import ./nix/config-facts.nix { evaluated = import ${NIXOS_EXPR} { }; withDrvPath = false; }`, ['-I', `nixos-config=${FIXTURE_CFG}/configuration.nix`]);
    expect(facts).toMatchObject({ version: 1, users: ['alice'], desktops: ['gnome'], mutableUsers: true, bootLoader: { grub: true, grubEfi: true, grubDevices: ['/dev/vda'], systemdBoot: false } });
    expect(facts.settings).toMatchObject({ hostName: 'demo', timeZone: null });
  });
});

describe('the package layout', () => {
  const packageNix = readFileSync(join(REPO, 'nix/package.nix'), 'utf8');
  const overrideNix = readFileSync(join(REPO, 'nix/calamares-extensions.nix'), 'utf8');

  it('every path in package.nix\'s source set exists', () => {
    const paths = [...packageNix.matchAll(/^\s+\.\.\/([\w./-]+)$/gm)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThanOrEqual(8);
    for (const path of paths) expect(existsSync(resolve(REPO, path)), path).toBe(true);
  });

  it('what the install phase copies and substitutes is there', () => {
    const unit = readFileSync(join(REPO, 'systemd/nixos-offline-installer.service'), 'utf8');
    const replaced = /substitute systemd\/nixos-offline-installer\.service [^\n]*\n\s*--replace-fail (\S+)/.exec(packageNix)![1]!;
    expect(unit).toContain(`ExecStart=${replaced} daemon`);
    expect(packageNix).toContain('$app/dist/cli/main.js');
    expect(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).bin['nixos-offline-installer']).toBe('dist/cli/main.js');
    expect(existsSync(join(REPO, 'dist/cli/main.js'))).toBe(true);
    // dist/validate reads ../../nix/{config-facts.nix,desktops.json}: the package copies both next to dist.
    expect(packageNix).toContain('cp nix/config-facts.nix nix/desktops.json $app/nix/');
  });

  it('the Calamares override finds the files and the text it replaces', () => {
    const calamares = join(REPO, 'calamares');
    expect(overrideNix).toContain('$ours/config/settings.conf');
    expect(existsSync(join(calamares, 'config/settings.conf'))).toBe(true);
    expect(readdirSync(join(calamares, 'config/modules')).filter((f) => f.endsWith('.conf')).length).toBeGreaterThanOrEqual(10);
    expect(existsSync(join(calamares, 'modules/nixos-offline/module.desc'))).toBe(true);
    expect(existsSync(join(calamares, 'modules/nixos-offline/nixos-offline.conf'))).toBe(true);
    const replaced = /--replace-fail '([^']+)'/.exec(overrideNix)![1]!;
    expect(readFileSync(join(calamares, 'config/modules/packagechooser.conf'), 'utf8')).toContain(replaced);
  });

  it("every desktop Calamares offers is one the checks know", () => {
    const offered = [...readFileSync(join(REPO, 'calamares/config/modules/packagechooser.conf'), 'utf8').matchAll(/- id: "?([^"\n]*)"?/g)].map((m) => m[1]);
    const known = Object.keys(JSON.parse(readFileSync(join(REPO, 'nix/desktops.json'), 'utf8')));
    for (const id of offered) expect(id === '' || known.includes(id!), id).toBe(true);
  });
});
