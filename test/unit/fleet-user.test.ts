// Who the fleet's servers run as (src/fleet/fleet-user.ts) and where the HTTP
// front's programs are found (src/fleet/http-front.ts, server-process.ts), on
// files of the test's own.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetError } from '../../src/fleet/fleet-error.js';
import { fleetUser } from '../../src/fleet/fleet-user.js';
import { findProxyd } from '../../src/fleet/http-front.js';
import { findProgram } from '../../src/fleet/server-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noi-fleet-user-'));
  await writeFile(join(dir, 'passwd'), ['root:x:0:0::/root:/bin/sh', 'fleet:x:987:986::/var/empty:/sbin/nologin', 'rootgroup:x:988:0::/:/bin/false', 'lost:x:989:4242::/:/bin/false', ''].join('\n'));
  await writeFile(join(dir, 'group'), ['root:x:0:', 'fleet:x:986:', ''].join('\n'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function refusal(name: string): Promise<string> {
  const error = await fleetUser(name, join(dir, 'passwd'), join(dir, 'group')).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(FleetError);
  return (error as FleetError).title;
}

describe("the fleet's user", () => {
  it('is found with its own group, by name, for dnsmasq', async () => {
    expect(await fleetUser('fleet', join(dir, 'passwd'), join(dir, 'group'))).toEqual({ name: 'fleet', group: 'fleet', uid: 987, gid: 986 });
  });

  it('is refused when missing, root, in root group, or without a named group, each said', async () => {
    expect(await refusal('nobody-here')).toBe(`The fleet's user "nobody-here" does not exist`);
    expect(await refusal('root')).toBe(`The fleet's user "root" is root or in root's group`);
    expect(await refusal('rootgroup')).toBe(`The fleet's user "rootgroup" is root or in root's group`);
    expect(await refusal('lost')).toContain('(gid 4242) has no name');
  });
});

describe("the HTTP front's programs", () => {
  it("finds systemd-socket-proxyd in lib/systemd beside a PATH folder's parent (NixOS' systemd package)", async () => {
    const systemd = join(dir, 'systemd');
    await mkdir(join(systemd, 'bin'), { recursive: true });
    await mkdir(join(systemd, 'lib', 'systemd'), { recursive: true });
    await writeFile(join(systemd, 'lib', 'systemd', 'systemd-socket-proxyd'), '');
    await chmod(join(systemd, 'lib', 'systemd', 'systemd-socket-proxyd'), 0o755);
    expect(findProxyd(`/nonexistent/bin:${join(systemd, 'bin')}`)).toBe(join(systemd, 'lib', 'systemd', 'systemd-socket-proxyd'));
  });

  it('names a program it cannot find, with what to do, before anything starts', () => {
    expect(() => findProgram('no-such-program-here', 'port', 'install it')).toThrow(FleetError);
    expect(() => findProgram('no-such-program-here', 'port', 'install it')).toThrow(/no-such-program-here is not installed: install it/);
    // A relative PATH entry is never searched: the program handed to systemd-run must be absolute.
    expect(findProgram('sh', 'x', 'y', 'relative/bin:/bin:/usr/bin')).toMatch(/^\/(usr\/)?bin\/sh$/);
  });
});
