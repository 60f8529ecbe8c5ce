// `make generate`: writes src/api/v1alpha1/generated.ts, the TypeScript shapes of our CRDs, from their
// openAPIV3Schema in crds/ (the source of truth), so that types, enums and the limits the code relies on
// are never kept in step by hand. `--check` (part of `npm run lint`) regenerates in memory and fails when
// the checked-in file differs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { crdFiles } from './chart-crds.js';
import { writeOrCheck } from './generated.js';

const VERSION = 'v1alpha1';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CRD_DIR = join(ROOT, 'crds');
const OUTPUT = join(ROOT, 'src/api', VERSION, 'generated.ts');
const COMMAND = 'make generate';

/**
 * Schema nodes that become exported types, by path: Kind.field.field, `[]` for an array's items. A name
 * given at several paths needs the same schema at each (one Condition for both kinds). Every other object
 * or enum is written inline.
 */
const NAMED_TYPES: Readonly<Record<string, string>> = {
  'GatewayRoute.spec': 'GatewayRouteSpec',
  'GatewayRoute.spec.routes[]': 'RouteSpec',
  'GatewayRoute.spec.routes[].pathType': 'PathType',
  'GatewayRoute.spec.routes[].backend.port': 'BackendPort',
  'GatewayRoute.status': 'GatewayRouteStatus',
  'GatewayRoute.status.source': 'GatewayRouteSource',
  'GatewayRoute.status.routingMode': 'RoutingMode',
  'GatewayRoute.status.conditions[]': 'Condition',
  'GatewayRoute.status.conditions[].status': 'ConditionStatus',
  'ClusterConnectivity.spec': 'ClusterConnectivitySpec',
  'ClusterConnectivity.spec.mode': 'ConnectivityMode',
  'ClusterConnectivity.status': 'ClusterConnectivityStatus',
  'ClusterConnectivity.status.routingMode': 'RoutingMode',
  'ClusterConnectivity.status.conditions[]': 'Condition',
  'ClusterConnectivity.status.conditions[].status': 'ConditionStatus',
};

/** The values of these named enums, exported as readonly arrays (for checking input at run time). */
const ENUM_VALUE_ARRAYS: Readonly<Record<string, string>> = {
  PathType: 'PATH_TYPES',
  RoutingMode: 'ROUTING_MODES',
  ConnectivityMode: 'CONNECTIVITY_MODES',
  ConditionStatus: 'CONDITION_STATUSES',
};

/** Schema keywords the code relies on (limits, defaults), exported as constants. */
const CONSTANTS: ReadonlyArray<{ name: string; path: string; keyword: 'maxItems' | 'maxLength' | 'default' }> = [
  { name: 'MAX_ROUTES', path: 'GatewayRoute.spec.routes', keyword: 'maxItems' },
  { name: 'MAX_PATH', path: 'GatewayRoute.spec.routes[].path', keyword: 'maxLength' },
  { name: 'MAX_CONDITION_MESSAGE', path: 'GatewayRoute.status.conditions[].message', keyword: 'maxLength' },
  { name: 'DEFAULT_DETECTION_TIMEOUT_SECONDS', path: 'ClusterConnectivity.spec.detectionTimeoutSeconds', keyword: 'default' },
];

/** The part of a structural schema this generator reads. */
interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  maxItems?: number;
  maxLength?: number;
  default?: unknown;
}

interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[] };
}

/** Fields every object has, typed by kind rather than by the schema's bare `type: string`. */
const OBJECT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

const literal = (value: unknown): string => (typeof value === 'string' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(value));
const key = (name: string): string => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : literal(name));
const doc = (text: string | undefined, pad: string): string => (text ? `${pad}/** ${text.trim().replace(/\*\//g, '*\\/')} */\n` : '');

class Generator {
  /** Exported declarations by name, in the order first met, with the schema each was made from. */
  private readonly declarations = new Map<string, { path: string; schema: Schema; text: string }>();
  /** Every schema node by path, for CONSTANTS. */
  private readonly nodes = new Map<string, Schema>();

  resource(crd: Crd): void {
    const kind = crd.spec.names.kind;
    const schema = crd.spec.versions.find((v) => v.name === VERSION)?.schema?.openAPIV3Schema;
    if (!schema) throw new Error(`CRD ${kind} has no ${VERSION} openAPIV3Schema`);
    const declaration = this.declare(kind, kind, schema);
    const fields = [`  apiVersion: '${crd.spec.group}/${VERSION}';`, `  kind: '${kind}';`, '  metadata: ObjectMeta;'];
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (!OBJECT_FIELDS.has(name)) fields.push(this.property(name, property, schema, kind, 1));
    }
    declaration.text = `${doc(schema.description, '')}export interface ${kind} {\n${fields.join('\n')}\n}`;
  }

  output(): string {
    // A path that no longer matches (a field renamed) would otherwise just inline what it named.
    const unmatched = Object.keys(NAMED_TYPES).filter((path) => !this.nodes.has(path));
    if (unmatched.length) throw new Error(`NAMED_TYPES paths found in no CRD: ${unmatched.join(', ')}`);
    const constants = CONSTANTS.map(({ name, path, keyword }) => {
      const value = this.nodes.get(path)?.[keyword];
      if (value === undefined) throw new Error(`${path} has no ${keyword} (wanted for ${name})`);
      return `/** ${keyword} of ${path}. */\nexport const ${name} = ${literal(value)};`;
    });
    return [
      `// Generated by hack/gen-api-types.ts from the CRDs in crds/: do not edit. After changing a CRD: ${COMMAND}`,
      "import type { ObjectMeta } from './meta.js';",
      ...[...this.declarations.values()].map((d) => d.text),
      ...constants,
    ].join('\n\n') + '\n';
  }

  private property(name: string, schema: Schema, parent: Schema, path: string, depth: number): string {
    const optional = parent.required?.includes(name) ? '' : '?';
    return `${doc(schema.description, '  '.repeat(depth))}${'  '.repeat(depth)}${key(name)}${optional}: ${this.type(schema, `${path}.${name}`, depth)};`;
  }

  /** The type of a schema node: its name when NAMED_TYPES has one (declaring it), else the shape inline. */
  private type(schema: Schema, path: string, depth: number): string {
    this.nodes.set(path, schema);
    const name = NAMED_TYPES[path];
    if (!name) return this.shape(schema, path, depth);
    const declaration = this.declare(name, path, schema);
    const shape = this.shape(schema, path, 0);
    if (schema.enum) {
      const values = ENUM_VALUE_ARRAYS[name];
      const array = values ? `\nexport const ${values}: readonly ${name}[] = [${schema.enum.map(literal).join(', ')}];` : '';
      declaration.text = `export type ${name} = ${shape};${array}`;
    } else {
      declaration.text = `export interface ${name} ${shape}`;
    }
    return name;
  }

  private shape(schema: Schema, path: string, depth: number): string {
    if (schema.enum) {
      if (!schema.enum.every((v) => typeof v === 'string')) throw new Error(`${path}: only string enums are supported`);
      return schema.enum.map(literal).join(' | ');
    }
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (!schema.items) throw new Error(`${path}: an array without items`);
        const item = this.type(schema.items, `${path}[]`, depth);
        return item.includes(' | ') && !item.startsWith('{') ? `(${item})[]` : `${item}[]`;
      }
      case 'object': {
        const properties = Object.entries(schema.properties ?? {});
        const unknown = schema.required?.filter((name) => !schema.properties?.[name]);
        if (unknown?.length) throw new Error(`${path}: required names unknown fields ${unknown.join(', ')}`);
        if (!properties.length) return 'Record<string, unknown>';
        const fields = properties.map(([name, property]) => this.property(name, property, schema, path, depth + 1));
        return `{\n${fields.join('\n')}\n${'  '.repeat(depth)}}`;
      }
      default:
        throw new Error(`${path}: type ${String(schema.type)} is not supported`);
    }
  }

  /** The declaration of `name`, placed before what it refers to is declared (so the file reads top-down). */
  private declare(name: string, path: string, schema: Schema): { text: string } {
    const earlier = this.declarations.get(name);
    if (earlier && JSON.stringify(earlier.schema) !== JSON.stringify(schema)) {
      throw new Error(`${name}: ${earlier.path} and ${path} have different schemas; name them apart in NAMED_TYPES`);
    }
    if (earlier) return { text: '' }; // the same text again, already placed
    const declaration = { path, schema, text: '' };
    this.declarations.set(name, declaration);
    return declaration;
  }
}

function generate(): string {
  const generator = new Generator();
  for (const file of crdFiles(CRD_DIR)) generator.resource(yaml.load(readFileSync(join(CRD_DIR, file), 'utf8')) as Crd);
  return generator.output();
}

writeOrCheck({ files: new Map([[OUTPUT, generate()]]), root: ROOT, from: 'crds/', command: COMMAND });
