// The structure issue 13 asks for, checked: capabilities meet only through their public
// module (lint refuses a reach into another's internals, and express in domain code),
// and neither modules nor capabilities import each other in a cycle, `import type`
// included (a type cycle is still two modules that cannot be understood apart).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');
const INFRASTRUCTURE = new Set(['shared', 'log', 'config', 'db']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import and re-export of a module, resolved to its .ts file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)];
  return specs.map((m) => path.resolve(path.dirname(file), m[1]!).replace(/\.js$/, '.ts'));
}

/** The first cycle in a directed graph, as a path, or null. */
function findCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return null;
}

const capabilityOf = (file: string) => {
  const rel = path.relative(SRC, file).split(path.sep);
  // src/app.ts, service.ts and main.ts compose; migrations/ lies outside src.
  return rel.length > 1 && rel[0] !== '..' ? rel[0]! : null;
};

describe('architecture (issue 13)', () => {
  const files = sources(SRC);
  const modules = new Map(files.map((f) => [f, new Set(importsOf(f))]));

  test('no two modules import each other, directly or around a cycle, types included', () => {
    const cycle = findCycle(modules);
    expect(cycle?.map((f) => path.relative(SRC, f)) ?? null).toBeNull();
  });

  test('capabilities depend on each other in one direction only', () => {
    const caps = new Map<string, Set<string>>();
    for (const [file, targets] of modules) {
      const from = capabilityOf(file);
      if (!from || INFRASTRUCTURE.has(from)) continue;
      for (const target of targets) {
        const to = capabilityOf(target);
        if (!to || to === from || INFRASTRUCTURE.has(to)) continue;
        caps.set(from, (caps.get(from) ?? new Set()).add(to));
      }
    }
    expect(findCycle(caps)).toBeNull();
    // The directory is read by licensing and adapted by SCIM; it knows neither.
    expect([...(caps.get('directory') ?? [])]).not.toEqual(
      expect.arrayContaining(['scim', 'licensing']),
    );
  });

  test('infrastructure imports no capability', () => {
    const offenders = [...modules].flatMap(([file, targets]) =>
      INFRASTRUCTURE.has(capabilityOf(file) ?? '')
        ? [...targets]
            .filter((t) => {
              const cap = capabilityOf(t);
              return cap !== null && !INFRASTRUCTURE.has(cap);
            })
            .map((t) => `${path.relative(SRC, file)} → ${path.relative(SRC, t)}`)
        : [],
    );
    expect(offenders).toEqual([]);
  });

  test("only the directory names the directory's tables: others read it through its API", () => {
    // Licensing embeds the directory's relations, attribute expressions and nested-group
    // walk (src/directory/relations.ts, nesting.ts) and calls its lookups; the SCIM door
    // takes its lists' tables from RESOURCE_STORAGE. Constraint names (src/db/constraints.ts,
    // e.g. directory_users_pkey) are not table names and do not match.
    const TABLES = /\b(?:directory_(?:users|groups|memberships)|user_activity)\b/;
    const offenders = files
      .filter((f) => capabilityOf(f) !== 'directory')
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((line, i) =>
            TABLES.test(line) ? [`${path.relative(SRC, f)}:${i + 1}: ${line.trim()}`] : [],
          ),
      );
    expect(offenders).toEqual([]);
  });

  describe('lint refuses', () => {
    const eslint = new ESLint({ cwd: ROOT });
    const lint = async (filePath: string, code: string) => {
      const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, filePath) });
      return result!.messages.map((m) => m.ruleId);
    };

    test("a reach into another capability's internals", async () => {
      const reach =
        "import { appendAuditEvents } from '../audit/append.js';\nvoid appendAuditEvents;\n";
      expect(await lint('src/licensing/fixture.ts', reach)).toContain('no-restricted-imports');
      const facade =
        "import { appendAuditEvents } from '../audit/index.js';\nvoid appendAuditEvents;\n";
      expect(await lint('src/licensing/fixture.ts', facade)).toEqual([]);
    });

    test('express in domain code, but not in a door', async () => {
      const code = "import express from 'express';\nvoid express;\n";
      expect(await lint('src/licensing/fixture.ts', code)).toContain('no-restricted-imports');
      expect(await lint('src/api/fixture.ts', code)).toEqual([]);
    });
  });
});
