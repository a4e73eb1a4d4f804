// The layers of src/, read from the imports themselves (TypeScript's own
// import scanner): no file takes part in an import cycle, no two folders import
// each other, and no folder imports one of a higher layer. What two stages
// share lives below both, so any stage can change without its neighbours.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/env.js';

const SRC = join(REPO, 'src');

// Lowest first. A folder may import its own layer and the ones below it.
export const LAYERS: readonly (readonly string[])[] = [
  // Tools that know nothing of installs.
  ['version.ts', 'types', 'fs', 'process', 'log'],
  // The socket protocol: wire types, limits, vocabularies, the titles people read.
  ['protocol'],
  // What every stage shares: the job's context, its errors, child commands.
  ['common'],
  // The one module that runs Nix; copying a configuration folder consistently.
  ['nix', 'snapshot'],
  // The stages of an install, each its own folder.
  ['answers', 'resolve', 'disk', 'stage', 'prepare', 'validate', 'build', 'copy', 'install', 'report'],
  // The install pipeline; a seed serving a fleet (it checks answer files as an unattended install does).
  ['job', 'fleet'],
  // Who runs installs, and who talks to the daemon; the medium check runs beside them (root, no daemon).
  ['daemon', 'client', 'calamares', 'medium'],
  ['cli'],
];

const STAGES = LAYERS[4]!;
// The only imports from one stage into another, each with its reason; anything
// else two stages share belongs below both.
const STAGE_IMPORTS: Record<string, string> = {
  'answers -> prepare': "an answer file's choices pass the same rules as the socket's (validChoice)",
  'validate -> prepare': "a check with choices runs on a prepared copy, as an install's would",
};
// Folders that speak to the daemon (or start it) and show what it sends: they
// read no stage, so what they show is what the daemon said.
const FRONT_ENDS = ['cli', 'client', 'calamares'];

export type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

// Each file of src/ (relative to it) and the files of src/ it imports.
export function importGraph(src: string = SRC): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(src)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const local = importedFiles.map((i) => i.fileName).filter((name) => name.startsWith('.'));
    graph.set(
      relative(src, file),
      local.map((name) => relative(src, resolve(dirname(file), name.replace(/\.js$/, '.ts')))),
    );
  }
  return graph;
}

// A file's folder under src/ (or the file itself, for one at the top).
export const folderOf = (file: string) => file.split('/')[0]!;

// Every cycle of file imports, each as a path that ends where it starts.
export function fileCycles(graph: ImportGraph): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

// folder -> folder it imports -> the file imports that make the edge.
export function folderImports(graph: ImportGraph): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>();
  for (const [file, imports] of graph) {
    for (const imported of imports) {
      const from = folderOf(file);
      const to = folderOf(imported);
      if (from === to) continue;
      const out = edges.get(from) ?? new Map<string, string[]>();
      out.set(to, [...(out.get(to) ?? []), `${file} -> ${imported}`]);
      edges.set(from, out);
    }
  }
  return edges;
}

export function mutualFolders(graph: ImportGraph): string[] {
  const edges = folderImports(graph);
  const found: string[] = [];
  for (const [from, out] of edges) {
    for (const [to, files] of out) {
      if (from < to && edges.get(to)?.has(from)) found.push(`${from} <-> ${to}: ${[...files, ...edges.get(to)!.get(from)!].join(', ')}`);
    }
  }
  return found;
}

export function layerOf(folder: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folder));
}

// Imports between two stages that STAGE_IMPORTS does not name.
export function stageToStage(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [from, out] of folderImports(graph)) {
    for (const [to, files] of out) {
      if (STAGES.includes(from) && STAGES.includes(to) && !(`${from} -> ${to}` in STAGE_IMPORTS)) found.push(`${from} -> ${to}: ${files.join(', ')}`);
    }
  }
  return found;
}

export function upwardImports(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [from, out] of folderImports(graph)) {
    for (const [to, files] of out) {
      if (layerOf(to) > layerOf(from)) found.push(`${from} (layer ${layerOf(from)}) imports ${to} (layer ${layerOf(to)}): ${files.join(', ')}`);
    }
  }
  return found;
}

describe('the layers of src/', () => {
  const graph = importGraph();

  it('reads the imports of every source file', () => {
    // The scanner finds the orchestrator's imports: an empty graph would pass every check below.
    expect(graph.get('job/run-install.ts')).toContain('protocol/messages.ts');
    expect(graph.size).toBeGreaterThan(100);
  });

  it('places every folder of src/ in a layer', () => {
    const unplaced = [...new Set([...graph.keys()].map(folderOf))].filter((folder) => layerOf(folder) < 0);
    expect(unplaced).toEqual([]);
  });

  it('has no cycle of file imports', () => {
    expect(fileCycles(graph)).toEqual([]);
  });

  it('has no two folders that import each other', () => {
    expect(mutualFolders(graph)).toEqual([]);
  });

  it('has no folder importing one of a higher layer', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('has no stage importing another stage, but for the named reasons', () => {
    expect(stageToStage(graph)).toEqual([]);
  });

  it('has front ends that read no stage or job', () => {
    const edges = folderImports(graph);
    const found = FRONT_ENDS.flatMap((front) => [...(edges.get(front) ?? new Map<string, string[]>())].filter(([to]) => layerOf(to) >= 4 && layerOf(to) <= 5).map(([to, files]) => `${front} -> ${to}: ${files.join(', ')}`));
    expect(found).toEqual([]);
  });

  it('has a Nix module that knows nothing of the socket protocol', () => {
    expect(folderImports(graph).get('nix')?.get('protocol') ?? []).toEqual([]);
  });

  it('finds a cycle, a mutual pair and an upward import when there are some', () => {
    const bad: ImportGraph = new Map([
      ['job/a.ts', ['job/b.ts']],
      ['job/b.ts', ['job/a.ts', 'nix/c.ts']],
      ['nix/c.ts', ['job/a.ts']],
    ]);
    expect(fileCycles(bad)).toContain('job/a.ts -> job/b.ts -> job/a.ts');
    expect(mutualFolders(bad)).toEqual(['job <-> nix: job/b.ts -> nix/c.ts, nix/c.ts -> job/a.ts']);
    expect(upwardImports(bad)).toEqual(['nix (layer 3) imports job (layer 5): nix/c.ts -> job/a.ts']);
    expect(stageToStage(new Map([['copy/a.ts', ['validate/b.ts']], ['validate/b.ts', []]]))).toEqual(['copy -> validate: copy/a.ts -> validate/b.ts']);
  });
});
