/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): CPU share by package, inclusive (the
 * package is anywhere on the stack) and self, and the hottest functions. Idle time is left out
 * of the shares, so they read as "of the time the process was busy".
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  busyMs: number;
  inclusive: Array<[string, number]>;
  self: Array<[string, number]>;
  functions: Array<[string, number]>;
}

function packageOf(url: string): string {
  if (!url) return '(v8: gc, native, program)';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1];
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:');
  const app = /dist\/(.*)$/.exec(url);
  return app ? `app: ${app[1]}` : url;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const timeOf = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );

  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  const add = (map: Map<string, number>, key: string, t: number) =>
    map.set(key, (map.get(key) ?? 0) + t);
  for (const [id, t] of timeOf) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += t;
    const pkg = packageOf(frame.url);
    add(self, pkg, t);
    add(functions, `${frame.functionName || '(anonymous)'} (${pkg}:${frame.lineNumber + 1})`, t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = packageOf(byId.get(cur)!.callFrame.url);
      if (!seen.has(name)) add(inclusive, name, t);
      seen.add(name);
    }
  }
  const share = (map: Map<string, number>): Array<[string, number]> =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, t]) => [key, Number(((t / busy) * 100).toFixed(1))]);
  return {
    busyMs: Math.round(busy / 1000),
    inclusive: share(inclusive),
    self: share(self),
    functions: share(functions),
  };
}

export function printProfileSummary(summary: ProfileSummary): void {
  const rows = (list: Array<[string, number]>) =>
    list.map(([name, pct]) => ({ '% of busy CPU': pct, where: name }));
  console.log(`\nCPU profile: ${summary.busyMs} ms busy`);
  console.log('inclusive, by package (on the stack):');
  console.table(rows(summary.inclusive));
  console.log('self, by package:');
  console.table(rows(summary.self));
  console.log('self, hottest functions:');
  console.table(rows(summary.functions));
}
