// Which configuration folder is installed, as a technician meets it: a
// /tmp/nix-cfg that exists and is not empty is the one, never silently passed
// over for the ISO's; the folder used is the first line of every output. Real
// daemon (network namespace with no interfaces), real CLI, real Nix.
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, resultOf } from '../helpers/cli.js';
import { writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { scratchWithRoot } from '../helpers/env.js';
import { runOnTerminal, screenText } from '../helpers/terminal.js';

let dir: string;
let root: string;
let tmpCfg: string;
let isoCfg: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => {
  ({ dir, root } = await scratchWithRoot('cfg-folder'));
  tmpCfg = join(dir, 'tmp', 'nix-cfg');
  await mkdir(join(dir, 'tmp'));
  isoCfg = await writeConfig(join(dir, 'iso', 'nix-cfg'), { hostName: 'iso' });
});
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

describe('a configuration copied one folder too deep', () => {
  it('is refused, naming the nested folder, by install, validate and status alike; the ISO`s is not installed instead', async () => {
    // `cp -r mycfg /tmp/nix-cfg/` when /tmp/nix-cfg already exists.
    const mycfg = await writeConfig(join(dir, 'mycfg'), { hostName: 'mine' });
    await mkdir(tmpCfg);
    await cp(mycfg, join(tmpCfg, 'mycfg'), { recursive: true });
    daemon = await startDaemon({ dir, configDirs: [tmpCfg, isoCfg] });

    const install = await runCli(['install', '--socket', daemon.socket, '--root', root, '--json']);
    expect(install.code).toBe(1);
    expect(install.events[0]!.data).toMatchObject({ request: 'install', ok: true, source: null });
    const { error, targetLogPath } = resultOf(install);
    expect(error).toMatchObject({ code: 'config-incomplete', title: `No configuration.nix at the top of ${tmpCfg}` });
    expect(error.description).toContain(`did you mean ${tmpCfg}/mycfg?`);
    expect(error.description).toContain(`mv ${tmpCfg} ${tmpCfg}.old && mv ${tmpCfg}.old/mycfg ${tmpCfg}`);
    expect(targetLogPath).toBeNull();
    expect(await readdir(root)).toEqual([]);

    const validate = await runCli(['validate', '--socket', daemon.socket, '--json']);
    expect(validate.code).toBe(1);
    const validation = validate.events[0]!.data.validation;
    expect(validation.source).toBeNull();
    expect(validation.checks[0]).toMatchObject({ name: 'source', ok: false, error: { code: 'config-incomplete' } });
    expect(validation.checks[0].error.description).toContain(`did you mean ${tmpCfg}/mycfg?`);

    const status = (await runCli(['status', '--socket', daemon.socket, '--json'])).events[0]!.data.status;
    expect(status.source.active).toBeNull();
    expect(status.source.problem.description).toContain(`did you mean ${tmpCfg}/mycfg?`);

    // On a terminal, each says it first.
    for (const args of [['install', '--root', root], ['validate'], ['status']]) {
      const shown = screenText((await runOnTerminal([...args, '--socket', daemon.socket])).output);
      // install learns why from its result, which follows at once.
      expect(shown.split('\n')[0], args[0]).toBe(args[0] === 'install' ? 'configuration: none usable' : `configuration: none usable (No configuration.nix at the top of ${tmpCfg})`);
      expect(shown, args[0]).toContain(`did you mean ${tmpCfg}/mycfg?`);
    }
  });

  it('with several nested folders, lists them all', async () => {
    await writeConfig(join(tmpCfg, 'laptop'));
    await writeConfig(join(tmpCfg, 'desktop'));
    daemon = await startDaemon({ dir, configDirs: [tmpCfg, isoCfg] });
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root, '--json']);
    const { error } = resultOf(run);
    expect(error.code).toBe('config-incomplete');
    expect(error.description).toContain(`  ${join(tmpCfg, 'desktop')}\n  ${join(tmpCfg, 'laptop')}`);
    expect(error.description).not.toContain('did you mean');
  });

  it('a flake copied one level too deep is named too: a flake.nix marks a configuration as configuration.nix does', async () => {
    await mkdir(join(tmpCfg, 'myflake'), { recursive: true });
    await writeFile(join(tmpCfg, 'myflake', 'flake.nix'), '{ outputs = { ... }: { }; }\n');
    daemon = await startDaemon({ dir, configDirs: [tmpCfg, isoCfg] });
    const { error } = resultOf(await runCli(['install', '--socket', daemon.socket, '--root', root, '--json']));
    expect(error.title).toBe(`No configuration.nix at the top of ${tmpCfg}`);
    expect(error.description).toContain(`did you mean ${join(tmpCfg, 'myflake')}?`);
  });
});

describe('the folder in use', () => {
  it('an empty /tmp/nix-cfg is nobody`s choice yet: the ISO`s folder is used, and every output says so first', async () => {
    await mkdir(tmpCfg);
    daemon = await startDaemon({ dir, configDirs: [tmpCfg, isoCfg] });
    const install = await runCli(['install', '--socket', daemon.socket, '--root', root]);
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(install.stdout.split('\n')[0]).toBe(`configuration: ${isoCfg}`);
    const json = await runCli(['status', '--socket', daemon.socket, '--json']);
    expect(json.events[0]!.data.status.install).toMatchObject({ state: 'succeeded', source: isoCfg });

    // Status says it is simply not used yet, not that it was passed over as a stranger's would be.
    const waiting = await runCli(['status', '--socket', daemon.socket]);
    expect(waiting.stdout).toContain(`    ${tmpCfg}  empty, so not used\n`);
    expect(waiting.stdout).not.toContain('passed over');

    // Then the technician's folder appears, complete: it is the one from now on.
    await writeConfig(tmpCfg, { hostName: 'technician' });
    const shown = screenText((await runOnTerminal(['status', '--socket', daemon.socket])).output);
    expect(shown.split('\n')[0]).toBe(`configuration: ${tmpCfg}`);
  });

  it('a file where /tmp/nix-cfg should be is named as such, never "missing"', async () => {
    await writeFile(tmpCfg, 'not a folder\n');
    daemon = await startDaemon({ dir, configDirs: [tmpCfg, isoCfg] });
    const status = await runCli(['status', '--socket', daemon.socket]);
    expect(status.stdout.split('\n')[0]).toBe(`configuration: none usable (${tmpCfg} is not a folder)`);
    expect(status.stdout).toContain(`    ${tmpCfg}  not used: it is not a folder\n`);
    expect(status.stdout).not.toContain('missing');
  });
});
