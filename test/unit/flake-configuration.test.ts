import { describe, expect, it } from 'vitest';
import { chooseConfiguration } from '../../src/validate/flake-configuration.js';

const hosts = { office: 'office-01', lab: 'lab-01', spare: null };
const lookups: string[] = [];
const hostNames = async () => {
  lookups.push('asked');
  return hosts;
};
const choose = (names: string[], choice: { requested?: string; hostname?: string }) => chooseConfiguration('/tmp/nix-cfg', names, choice, hostNames);

describe('which flake configuration is installed', () => {
  it('takes the one asked for, else the only one, else the one whose hostName is the chosen hostname', async () => {
    lookups.length = 0;
    await expect(choose(['office', 'lab'], { requested: 'lab', hostname: 'office-01' })).resolves.toBe('lab');
    await expect(choose(['office'], { hostname: 'elsewhere' })).resolves.toBe('office');
    // Host names are evaluated only when they decide.
    expect(lookups).toEqual([]);
    await expect(choose(['office', 'lab', 'spare'], { hostname: 'lab-01' })).resolves.toBe('lab');
    expect(lookups).toEqual(['asked']);
  });

  it('refuses an ambiguous choice, listing every configuration', async () => {
    await expect(choose(['office', 'lab'], {})).rejects.toMatchObject({
      code: 'flake-config-ambiguous',
      title: 'The flake has 2 configurations; which one to install?',
      description: expect.stringContaining('  office\n  lab\nNo hostname was chosen'),
    });
    await expect(choose(['office', 'lab', 'spare'], { hostname: 'kiosk' })).rejects.toMatchObject({
      description: expect.stringContaining('  office (networking.hostName = "office-01")\n  lab (networking.hostName = "lab-01")\n  spare (networking.hostName = not set)\nNone of them has networking.hostName = "kiosk"'),
    });
  });

  it('refuses an unknown name, a flake with none, and a name that cannot go in an attribute path', async () => {
    await expect(choose(['office'], { requested: 'kitchen' })).rejects.toMatchObject({ code: 'flake-config-unknown', description: expect.stringContaining('  office\n') });
    await expect(choose([], {})).rejects.toMatchObject({ code: 'flake-no-configurations' });
    await expect(choose(['host.example.org'], {})).rejects.toMatchObject({ code: 'flake-config-name', description: expect.stringContaining('nixosConfigurations.host-example-org') });
  });
});
