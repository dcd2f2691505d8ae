// Checks real admin API answers against what the OpenAPI document declares for their
// route, method and status, with an independent JSON Schema 2020-12 validator (ajv), and
// keeps count of which documented answers were seen.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import type { Response } from 'supertest';

// ajv-formats is CommonJS with a default export; under native ESM it arrives as the module.
const addFormats = ((addFormatsPlugin as { default?: unknown }).default ??
  addFormatsPlugin) as unknown as (ajv: Ajv2020) => void;

const BASE = 'https://seatkeeper.test/openapi.json';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

export function openApiChecker(doc: Document) {
  // Strict: a keyword ajv does not know (a typo, an OpenAPI 3.0 leftover such as
  // `nullable`) fails the check instead of being ignored.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  // `components` is where OpenAPI keeps the schemas that $refs name; to JSON Schema it is
  // an annotation holding them.
  ajv.addKeyword({ keyword: 'components' });
  ajv.addSchema({ $id: BASE, components: doc.components });

  const routes = Object.keys(doc.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const validators = new Map<string, ValidateFunction>();
  const seen = new Set<string>();

  function validatorFor(ref: string) {
    let v = validators.get(ref);
    if (!v) {
      v = ajv.compile({ $ref: `${BASE}${ref}` });
      validators.set(ref, v);
    }
    return v;
  }

  return {
    /** Throws unless `res` is an answer the document declares for this request. */
    check(method: string, path: string, res: Response) {
      const bare = path.split('?')[0]!;
      const matches = routes.filter((r) => r.pattern.test(bare));
      // A literal path wins over a template (none collide today, but be exact).
      const route = matches.find((r) => r.template === bare) ?? matches[0];
      if (!route) throw new Error(`${method} ${bare}: no such path in the document`);
      const op = doc.paths[route.template]![method.toLowerCase()];
      if (!op) throw new Error(`${method} ${route.template}: not in the document`);
      const declared = op.responses[String(res.status)];
      if (!declared)
        throw new Error(
          `${method} ${route.template} answered ${res.status}, which the document does not declare: ${res.text}`,
        );
      const key = `${method.toUpperCase()} ${route.template} ${res.status}`;
      if (!declared.content) {
        if (res.text) throw new Error(`${key}: declared without a body, answered ${res.text}`);
        seen.add(key);
        return;
      }
      const type = String(res.headers['content-type'] ?? '').split(';')[0]!;
      const media = declared.content[type];
      if (!media)
        throw new Error(
          `${key}: answered ${type}, declared ${Object.keys(declared.content).join(', ')}`,
        );
      // A text answer (a streamed export) is declared as a string: its bytes are checked
      // by the tests of its format.
      const isJson = type === 'application/json' || type.endsWith('+json');
      if ((media.schema as { type?: string }).type === 'string' && !isJson) {
        seen.add(key);
        return;
      }
      const ref = media.schema.$ref;
      if (!ref?.startsWith('#/components/schemas/'))
        throw new Error(`${key}: the response schema is not a named component`);
      const validate = validatorFor(ref);
      if (!validate(JSON.parse(res.text))) {
        throw new Error(
          `${key}: the body does not match ${ref}:\n${JSON.stringify(validate.errors, null, 2)}\n${res.text.slice(0, 2000)}`,
        );
      }
      seen.add(key);
    },
    /** Documented success answers (2xx) that no checked response exercised. */
    unexercised(): string[] {
      const out: string[] = [];
      for (const [template, ops] of Object.entries(doc.paths))
        for (const [method, op] of Object.entries(ops))
          for (const status of Object.keys(op.responses))
            if (
              status.startsWith('2') &&
              !seen.has(`${method.toUpperCase()} ${template} ${status}`)
            )
              out.push(`${method.toUpperCase()} ${template} ${status}`);
      return out;
    },
  };
}
