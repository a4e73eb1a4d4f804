// The Nix side, as far as it can run without nixpkgs (Nix 2.8 here): every
// .nix file parses; what needs no nixpkgs is evaluated for real; the files the
// Nix package and the Calamares override expect are where they expect them.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_CFG, NIX_CONFIG, NIXOS_EXPR, REPO, scratch } from '../helpers/env.js';
import { MODULE_TABLES } from '../helpers/calamares.js';
import { runCli } from '../helpers/cli.js';
import { startDaemon } from '../helpers/daemon.js';
import { cp, mkdir, writeFile, rm } from 'node:fs/promises';
import { flakeNixEnv } from '../helpers/flake.js';

const env = { ...process.env, NIX_CONFIG };

// Folders that hold no project .nix files (dependencies, build output, tools, scratch).
const NOT_SOURCE = new Set(['node_modules', 'dist', 'tools']);

// Every .nix file of the checkout, found by walking it: a test bed or a tarball
// checkout may have no git.
function nixFiles(dir = REPO): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith('.') || NOT_SOURCE.has(entry.name) ? [] : nixFiles(path);
    return entry.isFile() && entry.name.endsWith('.nix') ? [relative(REPO, path)] : [];
  });
}

function evalJson(expression: string, extra: string[] = []): any {
  return JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expression, ...extra], { cwd: REPO, env, encoding: 'utf8' }));
}

// stdenv's substituteInPlace --replace-fail and substitute, as the build scripts use them (the same
// contract: replace, or fail when the text is not there), for running a build's shell part here.
const SUBSTITUTE_IN_PLACE = `substituteInPlace() { f="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = --replace-fail ] || return 2; grep -qF -- "$2" "$f" || { echo "substituteInPlace: '$2' not in $f" >&2; return 1; }; python3 -c 'import sys; p, a, b = sys.argv[1:]; t = open(p).read(); open(p, "w").write(t.replace(a, b))' "$f" "$2" "$3"; shift 3; done; }`;
const SUBSTITUTE = `${SUBSTITUTE_IN_PLACE}\nsubstitute() { src="$1"; dst="$2"; shift 2; cp "$src" "$dst"; chmod u+w "$dst"; substituteInPlace "$dst" "$@"; }`;

describe('Nix files', () => {
  it('every .nix file parses with Nix', () => {
    const files = nixFiles();
    expect(files).toEqual(expect.arrayContaining([
      'flake.nix', 'nix/package.nix', 'nix/module.nix', 'nix/iso.nix', 'nix/manifest.nix', 'nix/manifest-data.nix', 'nix/config-facts.nix',
      'nix/calamares-extensions.nix', 'nix/calamares-hidden-pages.nix', 'nix/npm-registry.nix', 'nix/flake-source-info.nix', 'nix/target-system.nix', 'nix/target-expression.nix',
      'nix/target-expression-entry.nix', 'nix/hardware-profiles-for.nix', 'nix/iso-evaluates.nix', 'nix/fleet.nix', 'nix/netboot.nix', 'nix/console-install-unit.nix', 'nix/netboot-files.nix', 'nix/tests/offline-install.nix', 'nix/tests/nix-cfg/configuration.nix', 'nix-cfg/configuration.nix',
      'nix-cfg/hardware-configuration.nix', 'template/flake.nix', 'template/installer-not-chosen/flake.nix', 'template/nix-cfg/configuration.nix', 'template/nix-cfg/hardware-configuration.nix',
    ]));
    for (const file of files) execFileSync('nix-instantiate', ['--parse', join(REPO, file)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  });

  it('the manifest data evaluates for a configuration, and the daemon reads the manifest made from it', async () => {
    const expression = `import ./nix/manifest-data.nix { evaluated = import ${NIXOS_EXPR} { }; configDir = "${FIXTURE_CFG}"; }`;
    const data = evalJson(expression, ['-I', `nixos-config=${FIXTURE_CFG}/configuration.nix`]);
    expect(data).toMatchObject({ version: 1, configDir: FIXTURE_CFG, users: ['alice'], desktops: ['gnome'], fixedSettings: ['hostName'] });
    expect(data.toplevel).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-demo-stand-in$/);

    // manifest.nix adds closureBytes with nixpkgs' closureInfo; here the daemon gets the same data plus a size.
    const dir = await scratch('manifest');
    const manifest = join(dir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ ...data, closureBytes: 15_000_000 }));
    const daemon = await startDaemon({ dir, configDirs: [FIXTURE_CFG], extraArgs: ['--manifest', manifest] });
    try {
      const run = await runCli(['validate', '--socket', daemon.socket, '--json', '--user', 'alice', '--desktop', 'gnome']);
      expect(run.code).toBe(0);
      expect(run.events[0]!.data.validation.facts).toMatchObject({ origin: 'manifest', users: ['alice'], desktops: ['gnome'], toplevel: data.toplevel, fixedSettings: ['hostName'] });
    } finally {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('config-facts.nix also takes an evaluated system (the ISO build passes lib.nixosSystem)', () => {
    const facts = evalJson(`import ./nix/config-facts.nix { evaluated = import ${NIXOS_EXPR} { }; withDrvPath = false; }`, ['-I', `nixos-config=${FIXTURE_CFG}/configuration.nix`]);
    expect(facts).toMatchObject({ version: 1, users: ['alice'], desktops: ['gnome'], mutableUsers: true, bootLoader: { grub: true, grubEfi: true, grubDevices: ['/dev/vda'], systemdBoot: false } });
    expect(facts.settings).toMatchObject({ hostName: 'demo', timeZone: null });
    // No disko.devices.disk: no disko entry (test/e2e/unattended-disko.test.ts has one that does).
    expect(facts.disko).toBeNull();
  });

  it("config-facts.nix names the choices the configuration sets itself (above mkDefault), and the ISO leaves out the pages that ask only those", async () => {
    const dir = await scratch('fixed-settings');
    try {
      const facts = async (lines: string) => {
        await writeFile(join(dir, 'configuration.nix'), `{ lib, ... }: {\n  users.users.alice.isNormalUser = true;\n  ${lines}\n}\n`);
        const fixed = evalJson(`(import ./nix/config-facts.nix { nixos = "${NIXOS_EXPR}"; withDrvPath = false; }).fixedSettings`, ['-I', `nixos-config=${dir}/configuration.nix`]) as string[];
        return { fixed, hidden: evalJson(`import ./nix/calamares-hidden-pages.nix { fixedSettings = builtins.fromJSON ''${JSON.stringify(fixed)}''; }`) as string[] };
      };
      // A default (what the installer's choices are) leaves the choice open; a plain or forced value decides it.
      expect(await facts('time.timeZone = lib.mkDefault "UTC"; i18n.defaultLocale = "en_US.UTF-8";')).toEqual({ fixed: ['defaultLocale'], hidden: [] });
      expect(await facts('time.timeZone = "UTC"; i18n.defaultLocale = lib.mkForce "en_US.UTF-8"; networking.hostName = "x";')).toEqual({ fixed: ['defaultLocale', 'hostName', 'timeZone'], hidden: ['locale'] });
      // The renamed xkb option counts too.
      expect(await facts('console.keyMap = "de"; services.xserver.layout = "de";')).toEqual({ fixed: ['consoleKeyMap', 'xkbLayout'], hidden: ['keyboard'] });
      expect(await facts('')).toEqual({ fixed: [], hidden: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the flake and its template, without nixpkgs', () => {
  // The flake's outputs with nothing for nixpkgs: whatever evaluates needs none of it.
  const outputs = '((import ./flake.nix).outputs { self = { }; nixpkgs = { }; })';

  it('pins the current NixOS stable release', () => {
    expect(evalJson('(import ./flake.nix).inputs.nixpkgs.url')).toBe('github:NixOS/nixpkgs/nixos-26.11');
  });

  it('offers a template: a repository with nix-cfg/ and a flake calling lib.mkIso', () => {
    const path = evalJson(`toString ${outputs}.templates.default.path`);
    expect(path).toBe(join(REPO, 'template'));
    for (const file of ['flake.nix', 'README.md', 'nix-cfg/configuration.nix', 'nix-cfg/hardware-configuration.nix']) expect(existsSync(join(path, file)), file).toBe(true);
    // The example stays the one this repository's own ISO is built from.
    for (const file of readdirSync(join(REPO, 'nix-cfg'))) {
      expect(readFileSync(join(path, 'nix-cfg', file), 'utf8'), file).toBe(readFileSync(join(REPO, 'nix-cfg', file), 'utf8'));
    }
    // Its outputs, with a stand-in for this flake: one ISO per system, each from the template's nix-cfg.
    const stub = '{ lib.mkIso = args: { config.system.build.isoImage = { inherit (args) system; nixCfg = toString args.nixCfg; }; }; }';
    const iso = evalJson(`((import ./template/flake.nix).outputs { self = { }; nixos-offline-installer = ${stub}; }).packages`);
    expect(iso).toEqual({
      'x86_64-linux': { iso: { system: 'x86_64-linux', nixCfg: join(REPO, 'template/nix-cfg') } },
      'aarch64-linux': { iso: { system: 'aarch64-linux', nixCfg: join(REPO, 'template/nix-cfg') } },
    });
    expect(evalJson('builtins.attrNames (import ./template/flake.nix).inputs')).toEqual(['nixos-offline-installer']);
  });

  it('the template as `nix flake init -t` writes it: the first `nix build` stops saying what to edit in flake.nix, with no download', async () => {
    const dir = await scratch('template');
    try {
      const work = join(dir, 'my-installer');
      await cp(join(REPO, 'template'), work, { recursive: true });
      // As a plain folder and as the git repository the template's README makes of it.
      for (const git of [false, true]) {
        if (git) execFileSync('sh', ['-c', 'git init -q && git add -A'], { cwd: work });
        await rm(join(work, 'flake.lock'), { force: true });
        const run = spawnSync('nix', ['build', '--no-link', '.#iso'], { cwd: work, env: flakeNixEnv(join(dir, 'cache')), encoding: 'utf8' });
        expect(run.status, run.stderr).not.toBe(0);
        expect(run.stderr).toContain('flake.nix names no installer yet: set inputs.nixos-offline-installer.url');
        expect(run.stderr).not.toMatch(/unable to download|Could not resolve|HTTP error/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('each ISO carries only the built-in hardware profiles of its platform (nix/hardware-profiles.json), and flake check evaluates what each ISO carries', () => {
    const table = JSON.parse(readFileSync(join(REPO, 'nix/hardware-profiles.json'), 'utf8')) as Record<string, string[]>;
    // One row per profile file, no more, no fewer.
    expect(Object.keys(table).sort()).toEqual(readdirSync(join(REPO, 'nix/hardware-profiles')).map((f) => f.replace(/\.nix$/, '')).sort());
    const chosen = (system: string) => evalJson(`builtins.mapAttrs (_: toString) (import ./nix/hardware-profiles-for.nix "${system}")`) as Record<string, string>;
    const x86 = chosen('x86_64-linux');
    expect(Object.keys(x86).sort()).toEqual(['amd', 'hyperv', 'intel', 'qemu-kvm', 'virtualbox', 'vmware']);
    for (const [name, path] of Object.entries(x86)) expect(path).toBe(join(REPO, `nix/hardware-profiles/${name}.nix`));
    // What makes a profile x86-only (microcode, x86 kernel modules, guest additions) keeps it off the aarch64 ISO.
    const aarch64 = chosen('aarch64-linux');
    for (const name of Object.keys(table)) {
      const text = readFileSync(join(REPO, `nix/hardware-profiles/${name}.nix`), 'utf8');
      if (/updateMicrocode|"kvm-intel"|"kvm-amd"|"ata_piix"|virtualbox\.guest|hypervGuest|"ahci"/.test(text)) expect(aarch64, name).not.toHaveProperty(name);
    }
    expect(readFileSync(join(REPO, 'nix/hardware-profiles.nix'), 'utf8')).toContain('builtin = import ./hardware-profiles-for.nix pkgs.stdenv.hostPlatform.system;');
    // The check forces the image and every storeContents entry to evaluate, for every system the flake builds ISOs for.
    const flake = readFileSync(join(REPO, 'flake.nix'), 'utf8');
    expect(flake).toMatch(/forEachSystem \(system: \{\n\s+"offline-installer-\$\{system\}-evaluates" = import \.\/nix\/iso-evaluates\.nix/);
    const stub = '{ config = { isoImage.storeContents = [ { drvPath = "/nix/store/a.drv"; } "/nix/store/b.drv" ./flake.nix ]; system.build.isoImage.drvPath = "/nix/store/iso.drv"; }; }';
    const listed = evalJson(`(import ./nix/iso-evaluates.nix { pkgs.writeText = name: text: { inherit name text; }; installer = ${stub}; }).text`);
    expect(listed).toBe(`/nix/store/iso.drv\n/nix/store/a.drv\n/nix/store/b.drv\n${join(REPO, 'flake.nix')}\n`);
  });

  it("fetches npm dependencies from npm's default registry unless nix/npm-registry.txt names another", async () => {
    expect(readFileSync(join(REPO, 'flake.nix'), 'utf8')).toContain('npmRegistry = import ./nix/npm-registry.nix;');
    const dir = await scratch('registry');
    try {
      await cp(join(REPO, 'nix/npm-registry.nix'), join(dir, 'npm-registry.nix'));
      const registry = () => JSON.parse(execFileSync('nix-instantiate', ['--eval', '--json', join(dir, 'npm-registry.nix')], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
      expect(registry()).toMatch(/^https:\/\/\S+\/$/);
      await writeFile(join(dir, 'npm-registry.txt'), '  http://127.0.0.1:4873/\n');
      expect(registry()).toBe('http://127.0.0.1:4873/');
      await writeFile(join(dir, 'npm-registry.txt'), 'not a url\n');
      expect(registry).toThrow(/nix\/npm-registry\.txt must hold one registry URL/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
    // dist/ reads ../../nix/{config-facts.nix and the tables}: the package copies them next to dist, and every one of them is in its source.
    const copied = /cp (nix\/[^\n$]+) \$app\/nix\//.exec(packageNix)![1]!.split(' ');
    expect(copied).toEqual(expect.arrayContaining(['nix/config-facts.nix', 'nix/desktops.json', 'nix/choice-options.json', 'nix/install-phases.json', 'nix/installer-defaults.json', 'nix/locale-categories.json', 'nix/calamares-pages.json']));
    for (const file of copied) expect(packageNix, file).toContain(`../${file}\n`);
    // The Calamares module reads its tables from its own folder.
    expect(packageNix).toContain(`cp ${MODULE_TABLES.map((t) => `nix/${t}`).join(' ')} $out/share/nixos-offline-installer/calamares/modules/nixos-offline/`);
    // package.json from the source, not the build folder's (which npm's config hook may rewrite).
    expect(packageNix).toContain('cp ${src}/package.json $app/package.json');
    expect(packageNix).not.toMatch(/cp -r [^\n]*package\.json/);
    // The Node check reads engines.node as ">=X.Y" and compares it with nodejs_24's version.
    expect(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).engines.node).toMatch(/^>=\d+(\.\d+)*$/);
    expect(packageNix).toContain('lib.versionAtLeast nodejs_24.version nodeMinimum');
  });

  it('the Calamares override finds the files and the text it replaces', () => {
    const calamares = join(REPO, 'calamares');
    expect(overrideNix).toContain('$ours/config/settings.conf');
    expect(existsSync(join(calamares, 'config/settings.conf'))).toBe(true);
    expect(readdirSync(join(calamares, 'config/modules')).filter((f) => f.endsWith('.conf')).length).toBeGreaterThanOrEqual(10);
    expect(existsSync(join(calamares, 'modules/nixos-offline/module.desc'))).toBe(true);
    expect(existsSync(join(calamares, 'modules/nixos-offline/nixos-offline.conf'))).toBe(true);
    // Each substitution names its file and the text it replaces; each text must be in ours.
    const substitutions = [...overrideNix.matchAll(/substituteInPlace \$conf\/([\w./-]+) \\\n\s+--replace-fail '([^']+)'/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(substitutions.map(([file]) => file)).toEqual(['settings.conf', 'modules/notesqml-choices.conf', 'modules/packagechooser.conf', 'modules/locale.conf']);
    for (const [file, text] of substitutions) expect(readFileSync(join(calamares, 'config', file), 'utf8'), file).toContain(text);
  });

  // The override's install step, run for real by bash on a package laid out as
  // current nixpkgs (etc/calamares) or older releases (share/calamares) lay it
  // out; substituteInPlace --replace-fail stands in for stdenv's (the same
  // contract: replace, or fail when the text is not there).
  for (const layout of ['etc/calamares', 'share/calamares']) {
    it(`the Calamares override puts ours where the package keeps its config (${layout})`, async () => {
      const dir = await scratch('calamares-override');
      try {
        const pkg = join(dir, 'pkg');
        await cp(join(REPO, 'calamares'), join(pkg, 'share/nixos-offline-installer/calamares'), { recursive: true });
        // As nix/package.nix does: the module's tables beside it.
        for (const table of MODULE_TABLES) await cp(join(REPO, 'nix', table), join(pkg, 'share/nixos-offline-installer/calamares/modules/nixos-offline', table));
        const out = join(dir, 'out');
        await mkdir(join(out, layout, 'modules'), { recursive: true });
        await mkdir(join(out, 'lib/calamares/modules/nixos'), { recursive: true });
        await writeFile(join(out, layout, 'settings.conf'), 'upstream\n');
        const stub = `{ overrideAttrs = f: f { postInstall = ""; }; }`;
        // One layout with the pages a configuration that sets time zone, language and keyboards leaves out.
        const hidden = layout === 'etc/calamares' ? '[ "keyboard" "locale" ]' : '[ ]';
        const script = evalJson(`(import ./nix/calamares-extensions.nix { calamares-nixos-extensions = ${stub}; nixos-offline-installer = "${pkg}"; glibcLocales = "/nix/store/00000000000000000000000000000000-glibc-locales"; desktop = "plasma6"; hiddenPages = ${hidden}; }).postInstall`);
        execFileSync('bash', ['-euc', `${SUBSTITUTE_IN_PLACE}\n${script}`], { env: { ...env, out }, stdio: ['ignore', 'pipe', 'pipe'] });
        const settings = readFileSync(join(out, layout, 'settings.conf'), 'utf8');
        expect(settings).toContain(`modules-search: [ local, ${out}/lib/calamares/modules ]`);
        expect(settings).toContain('nixos-offline');
        // Every page stays in settings-all-pages.conf, for the launcher.
        expect(readFileSync(join(out, layout, 'settings-all-pages.conf'), 'utf8')).toBe(settings.replace(/^(  - users)$/m, layout === 'etc/calamares' ? '  - locale\n  - keyboard\n$1' : '$1'));
        const shown = /^- show:\n((?: {2}.*\n)+)/m.exec(settings)![1]!;
        const pages = [...shown.matchAll(/^ {2}- (\S+)$/gm)].map((m) => m[1]);
        expect(pages).toEqual(layout === 'etc/calamares' ? ['welcome', 'users', 'packagechooser', 'partition', 'summary'] : ['welcome', 'locale', 'keyboard', 'users', 'packagechooser', 'partition', 'summary']);
        const chooser = readFileSync(join(out, layout, 'modules/packagechooser.conf'), 'utf8');
        expect(chooser).toContain('default: "plasma6"');
        // The desktops' pictures are the package's own (config/images, installed next to settings.conf), not the system profile's.
        const screenshots = [...chooser.matchAll(/^\s+screenshot: "([^"]+)"$/gm)].map((m) => m[1]!);
        expect(screenshots.length).toBeGreaterThanOrEqual(10);
        for (const shot of screenshots) expect(shot).toMatch(new RegExp(`^${join(out, layout, 'images')}/[\\w-]+\\.png$`));
        // NixOS has no /usr/share/i18n/SUPPORTED: the language list is glibcLocales', as upstream's locale.conf has it.
        expect(readFileSync(join(out, layout, 'modules/locale.conf'), 'utf8')).toMatch(/^localeGenPath: \/nix\/store\/0{32}-glibc-locales\/share\/i18n\/SUPPORTED$/m);
        // Calamares runs as root: its session log is in root's home.
        expect(readFileSync(join(out, layout, 'modules/umount.conf'), 'utf8')).toMatch(/^srcLog: +"\/root\/\.cache\/calamares\/session\.log"$/m);
        // No unfree page: the configuration decides nixpkgs.config.allowUnfree, so the choice would change nothing.
        expect(settings).not.toMatch(/unfree/);
        expect(existsSync(join(out, layout, 'modules/unfree.conf'))).toBe(false);
        expect(existsSync(join(out, layout, 'modules/nixos-offline.conf'))).toBe(true);
        // The choices page names a QML file the package has.
        const qml = /^qmlFilename: (\S+)$/m.exec(readFileSync(join(out, layout, 'modules/notesqml-choices.conf'), 'utf8'))![1]!;
        expect(qml).toBe(join(pkg, 'share/nixos-offline-installer/calamares/qml/nixos-offline-choices.qml'));
        expect(existsSync(qml)).toBe(true);
        expect(existsSync(join(out, 'lib/calamares/modules/nixos-offline/main.py'))).toBe(true);
        for (const table of MODULE_TABLES) expect(existsSync(join(out, 'lib/calamares/modules/nixos-offline', table)), table).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  // The launcher package's build (nix/calamares-launcher.nix, a runCommand), run by bash on stand-in
  // calamares folders: one whose polkit policy names its own store path (nixpkgs' calamares after 3.4.0),
  // one whose policy names the system profile's program (up to 3.4.0).
  for (const named of ['its own store path', 'the system profile']) {
    it(`the launcher package copies Calamares' polkit policy and points it at the launcher when it names ${named}`, async () => {
      const dir = await scratch('calamares-launcher');
      try {
        const calamares = join(dir, 'calamares');
        const own = named === 'its own store path' ? `${calamares}/bin/calamares` : '/run/current-system/sw/bin/calamares';
        const policy = `<?xml version="1.0" encoding="UTF-8"?>\n<policyconfig>\n  <action id="com.github.calamares.calamares.pkexec.run">\n    <annotate key="org.freedesktop.policykit.exec.path">${own}</annotate>\n    <annotate key="org.freedesktop.policykit.exec.allow_gui">true</annotate>\n  </action>\n</policyconfig>\n`;
        await mkdir(join(calamares, 'bin'), { recursive: true });
        await writeFile(join(calamares, 'bin/calamares'), '#!/bin/sh\n', { mode: 0o755 });
        await mkdir(join(calamares, 'lib/calamares'), { recursive: true });
        await mkdir(join(calamares, 'share/applications'), { recursive: true });
        await writeFile(join(calamares, 'share/applications/io.calamares.calamares.desktop'), '[Desktop Entry]\nExec=sh -c "pkexec calamares"\n');
        await mkdir(join(calamares, 'share/polkit-1/actions'), { recursive: true });
        await mkdir(join(calamares, 'share/polkit-1/rules.d'));
        await writeFile(join(calamares, 'share/polkit-1/actions/com.github.calamares.calamares.policy'), policy);
        const args = `runCommand = name: attrs: script: script; coreutils = "/nix/store/00000000000000000000000000000000-coreutils"; calamares = { outPath = "${calamares}"; pname = "calamares"; version = "0"; meta = { }; }; calamares-nixos-extensions = "/nix/store/00000000000000000000000000000000-extensions"; nixos-offline-installer = "/nix/store/00000000000000000000000000000000-installer";`;
        // The launcher script as Nix names it (its store copy, which evaluation alone does not write): the repository's.
        const script = (evalJson(`import ./nix/calamares-launcher.nix { ${args} }`) as string).replace(/\/nix\/store\/[a-z0-9]{32}-calamares-launcher\.sh/g, join(REPO, 'nix/calamares-launcher.sh'));
        const out = join(dir, 'out');
        execFileSync('bash', ['-euo', 'pipefail', '-c', `${SUBSTITUTE}\n${script}`], { env: { ...env, out }, stdio: ['ignore', 'pipe', 'pipe'] });

        const copied = join(out, 'share/polkit-1/actions/com.github.calamares.calamares.policy');
        expect(lstatSync(copied).isSymbolicLink()).toBe(false);
        // pkexec runs only the program the policy names: ours when Calamares named its own, else the profile's (ours too).
        expect(readFileSync(copied, 'utf8')).toBe(policy.replace(own, named === 'its own store path' ? `${out}/bin/calamares` : own));
        expect(readFileSync(copied, 'utf8')).not.toContain(calamares);
        // Everything else of Calamares is its own, linked: the desktop file, the other polkit folders, lib.
        expect(readlinkSync(join(out, 'share/applications'))).toBe(join(calamares, 'share/applications'));
        expect(readlinkSync(join(out, 'share/polkit-1/rules.d'))).toBe(join(calamares, 'share/polkit-1/rules.d'));
        expect(readlinkSync(join(out, 'lib'))).toBe(join(calamares, 'lib'));
        // bin/ is ours alone: the launcher, with Calamares' program named by its path.
        expect(readdirSync(join(out, 'bin'))).toEqual(['calamares']);
        const launcher = readFileSync(join(out, 'bin/calamares'), 'utf8');
        expect(launcher).toContain(`exec ${calamares}/bin/calamares --xdg-config "$@"`);
        expect(launcher).not.toMatch(/@\w+@/);
        expect(statSync(join(out, 'bin/calamares')).mode & 0o111).toBe(0o111);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it("every desktop Calamares offers is one the checks know", () => {
    const offered = [...readFileSync(join(REPO, 'calamares/config/modules/packagechooser.conf'), 'utf8').matchAll(/- id: "?([^"\n]*)"?/g)].map((m) => m[1]);
    const known = Object.keys(JSON.parse(readFileSync(join(REPO, 'nix/desktops.json'), 'utf8')));
    for (const id of offered) expect(id === '' || known.includes(id!), id).toBe(true);
  });
});
