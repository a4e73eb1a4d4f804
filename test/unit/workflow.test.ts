// .github/workflows/iso.yml cannot run here (no Nix with nixpkgs, no network):
// what can be checked is that it is valid YAML, passes each action only the
// inputs that action documents, and runs what this repository has.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from '../helpers/env.js';

// Each action's inputs, from its action.yml / README at the version used:
// actions/checkout v5 (none are needed), cachix/install-nix-action v31.
const DOCUMENTED_INPUTS: Record<string, string[]> = {
  'actions/checkout@v5': ['repository', 'ref', 'token', 'path', 'fetch-depth', 'submodules'],
  'cachix/install-nix-action@v31': ['extra_nix_config', 'github_access_token', 'install_url', 'install_options', 'nix_path', 'enable_kvm'],
};

interface WorkflowStep { uses?: string; with?: Record<string, string>; run?: string }
interface Workflow { jobs: Record<string, { steps: WorkflowStep[]; container?: { image: string; options?: string } }> }

// Read with the `yaml` package (a dev dependency): the same reader on every bed.
const workflow = parse(readFileSync(join(REPO, '.github/workflows/iso.yml'), 'utf8')) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
const runs = steps.flatMap((s) => (s.run ? [s.run] : [])).join('\n');

describe('the GitHub workflow', () => {
  it('passes each action only inputs it documents', () => {
    for (const step of steps.filter((s) => s.uses)) {
      expect(Object.keys(DOCUMENTED_INPUTS), step.uses).toContain(step.uses);
      for (const input of Object.keys(step.with ?? {})) expect(DOCUMENTED_INPUTS[step.uses!], `${step.uses} ${input}`).toContain(input);
    }
  });

  it('builds the x86_64 ISO, runs the VM test, evaluates the aarch64 ISO and runs the whole suite', () => {
    const flake = readFileSync(join(REPO, 'flake.nix'), 'utf8');
    expect(runs).toMatch(/nix build -L \.#iso\.offline-installer-x86_64-linux/);
    expect(runs).toMatch(/nix build -L \.#checks\.x86_64-linux\.offline-install/);
    expect(flake).toContain('checks.x86_64-linux.offline-install');
    expect(runs).toMatch(/nix eval --raw \.#iso\.offline-installer-aarch64-linux\.drvPath/);
    expect(flake).toMatch(/systems = \[ "x86_64-linux" "aarch64-linux" \]/);
    expect(flake).toContain('"offline-installer-${system}"');
    // The suite as the README runs it, as root on Debian 12 with loop devices and mounts.
    expect(runs).toMatch(/^bash scripts\/test\.sh$/m);
    expect(existsSync(join(REPO, 'scripts/test.sh'))).toBe(true);
    expect(Object.values(workflow.jobs).some((job) => job.container?.image === 'debian:12' && job.container.options === '--privileged')).toBe(true);
  });
});
