/**
 * Makes Pulumi's closure serializer (what `aws.lambda.CallbackFunction` packages a handler with)
 * cheaper in an evaluation child (tools/stack.ts), with the same answers: the code it serializes is
 * what stock @pulumi/pulumi writes, byte for byte. A child evaluates the app program once per
 * stack and config variant, and each evaluation serializes the four handlers, which share most of
 * runtime/: that was ~2/3 of the child's CPU, mostly spent on the work below, done again for
 * every function, free variable, handler and evaluation.
 *
 * - `parseFunction` parses a function's text with TypeScript to find its free variables, and
 *   `rewriteSuperReferences` parses and prints a class member's. Their answers depend on the text
 *   alone, and `parseFunction`'s also on which names the global object holds (those are built-ins,
 *   not captured): each is kept per text (and set of global names) and handed out as a copy.
 * - Reading a function's location or a captured variable asks V8's inspector to put the function
 *   in a table (`Runtime.evaluate`), list its properties along the prototype chain
 *   (`Runtime.getProperties`, ~6 KB of JSON) and, for a variable, hand back its scopes. Here the
 *   function's remote id is asked once per function and its own properties alone are listed: the
 *   internal properties read ([[FunctionLocation]], [[Scopes]]) are the same either way. A
 *   function's location never changes and is read once; its scopes are still read afresh for every
 *   variable, as Pulumi reads them.
 *
 * Only the evaluation children install this, and only on the @pulumi/pulumi it mirrors;
 * `pulumi up` runs Pulumi's serializer unchanged.
 */
import type { Session } from "node:inspector";
import * as vm from "node:vm";

type Parsed = [error: string, parsed: unknown];

/** Any function Pulumi serializes (what it hands the functions below). */
type AnyFunction = (...args: never[]) => unknown;

interface InternalProperty {
  name: string;
  value?: { objectId?: string; value?: FunctionLocation };
}

interface FunctionLocation {
  scriptId: string;
  lineNumber?: number;
  columnNumber?: number;
}

/** Pulumi's closure modules, whose exports its serializer calls through (so replacing one reaches it). */
const CLOSURE = "@pulumi/pulumi/runtime/closure";

function closureModule<T>(name: string): T {
  return require(`${CLOSURE}/${name}`) as T;
}

/** Whether `names` still lists the global object's own property names. */
function sameGlobalNames(names: string[]): boolean {
  const now = Object.getOwnPropertyNames(globalThis);
  return now.length === names.length && now.every((name, i) => name === names[i]);
}

/** `parseFunction` and `rewriteSuperReferences` work on each text once. */
function parseEachTextOnce(): void {
  const parse = closureModule<{ parseFunction(funcString: string): Parsed }>("parseFunction");
  const parseFunction = parse.parseFunction;
  let globalNames: string[] = [];
  let parsed = new Map<string, Parsed>();
  parse.parseFunction = (funcString) => {
    // A free variable that names a property of the global object is a built-in, not captured.
    if (!sameGlobalNames(globalNames)) {
      globalNames = Object.getOwnPropertyNames(globalThis);
      parsed = new Map();
    }
    let result = parsed.get(funcString);
    if (!result) {
      result = parseFunction(funcString);
      parsed.set(funcString, result);
    }
    // The caller owns what it gets (it keeps it and may change it), as with a fresh parse.
    return structuredClone(result);
  };

  const rewrite = closureModule<{ rewriteSuperReferences(code: string, isStatic: boolean): string }>("rewriteSuper");
  const rewriteSuperReferences = rewrite.rewriteSuperReferences;
  const rewritten = new Map<string, string>();
  rewrite.rewriteSuperReferences = (code, isStatic) => {
    const key = `${isStatic}\0${code}`;
    let result = rewritten.get(key);
    if (result === undefined) {
      result = rewriteSuperReferences(code, isStatic);
      rewritten.set(key, result);
    }
    return result;
  };
}

interface InspectedContext {
  contextId: number;
  functions: Record<string, AnyFunction>;
  calls: Record<string, unknown>;
}

/** A vm context the inspector can find by id, set up as Pulumi's `createContext` sets up its own. */
async function inspectableContext(session: Session): Promise<InspectedContext> {
  const post = (method: string) =>
    new Promise((resolve, reject) => session.post(method, (err) => (err ? reject(err) : resolve(undefined))));
  const context: InspectedContext = { contextId: 0, functions: {}, calls: {} };
  await post("Runtime.enable");
  const created = new Promise<number>((resolve) =>
    session.once("Runtime.executionContextCreated", (event: { params: { context: { id: number } } }) => resolve(event.params.context.id)),
  );
  vm.createContext(context);
  context.contextId = await created;
  await post("Runtime.disable");
  return context;
}

/** Pulumi's inspector queries (runtime/closure/v8.js), each function's remote id asked once. */
class Inspector {
  /** Each function's remote object id; the inspector keeps the objects it names, as it keeps Pulumi's. */
  private readonly functionIds = new WeakMap<AnyFunction, Promise<string>>();
  private readonly locations = new WeakMap<AnyFunction, Promise<FunctionLocation | undefined>>();
  private nextId = 0;

  constructor(
    private readonly session: Session,
    private readonly context: InspectedContext,
  ) {}

  private post<T>(method: string, params: object): Promise<T> {
    return new Promise((resolve, reject) => this.session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
  }

  /** Where the function is defined (its [[FunctionLocation]]), if V8 says. */
  location(func: AnyFunction): Promise<FunctionLocation | undefined> {
    let location = this.locations.get(func);
    if (!location) {
      location = this.internalProperties(func).then((internal) => internal.find((p) => p.name === "[[FunctionLocation]]")?.value?.value);
      this.locations.set(func, location);
    }
    return location;
  }

  /** The in-memory scopes of the function as they are now, innermost first (its [[Scopes]]). */
  async scopes(func: AnyFunction): Promise<ArrayLike<{ object?: Record<string, unknown> }>> {
    const scopes = (await this.internalProperties(func)).find((p) => p.name === "[[Scopes]]");
    if (!scopes) throw new Error("Could not find [[Scopes]] property");
    if (!scopes.value) throw new Error("[[Scopes]] property did not have [value]");
    if (!scopes.value.objectId) throw new Error("[[Scopes]].value have objectId");
    return this.valueOf(scopes.value.objectId);
  }

  private async internalProperties(func: AnyFunction): Promise<InternalProperty[]> {
    const objectId = await this.functionId(func);
    const { internalProperties, exceptionDetails } = await this.post<{
      internalProperties?: InternalProperty[];
      exceptionDetails?: { text: string };
    }>("Runtime.getProperties", { objectId, ownProperties: true });
    if (exceptionDetails) throw new Error(`Error calling "Runtime.getProperties(${objectId}, true)": ${exceptionDetails.text}`);
    return internalProperties ?? [];
  }

  private functionId(func: AnyFunction): Promise<string> {
    let id = this.functionIds.get(func);
    if (!id) {
      id = this.evaluateFunction(func);
      this.functionIds.set(func, id);
    }
    return id;
  }

  /** The function's remote object id, found as Pulumi's `getRuntimeIdForFunctionAsync` finds it. */
  private async evaluateFunction(func: AnyFunction): Promise<string> {
    const name = `id${this.nextId++}`;
    this.context.functions[name] = func;
    const expression = `functions.${name}`;
    try {
      const { result, exceptionDetails } = await this.post<{
        result: { type: string; className?: string; objectId?: string };
        exceptionDetails?: { text: string };
      }>("Runtime.evaluate", { contextId: this.context.contextId, expression });
      if (exceptionDetails) throw new Error(`Error calling "Runtime.evaluate(${expression})": ${exceptionDetails.text}`);
      const isFunction = result.type === "function" || (result.type === "object" && result.className === "AsyncGeneratorFunction");
      if (!isFunction) throw new Error(`Remote object was not 'function': ${JSON.stringify(result)}`);
      if (!result.objectId) throw new Error(`Remote function does not have 'objectId': ${JSON.stringify(result)}`);
      return result.objectId;
    } finally {
      delete this.context.functions[name];
    }
  }

  /** The in-memory value behind a remote object id, got as Pulumi's `getValueForObjectId` gets it. */
  private async valueOf(objectId: string): Promise<any> {
    const id = `id${this.nextId++}`;
    const { exceptionDetails } = await this.post<{ exceptionDetails?: { text: string } }>("Runtime.callFunctionOn", {
      objectId,
      // The same declaration every time, the table slot an argument.
      functionDeclaration: "function (id) { calls[id] = this; }",
      arguments: [{ value: id }],
    });
    if (exceptionDetails) throw new Error(`Error calling "Runtime.callFunctionOn(${objectId})": ${exceptionDetails.text}`);
    if (!Object.prototype.hasOwnProperty.call(this.context.calls, id))
      throw new Error(`Value was not stored into table after calling "Runtime.callFunctionOn(${objectId})"`);
    const value = this.context.calls[id];
    delete this.context.calls[id];
    return value;
  }
}

/** Pulumi's `getFunctionLocationAsync` and `lookupCapturedVariableValueAsync`, answered through an `Inspector`. */
function inspectEachFunctionOnce(): void {
  const v8 = closureModule<{
    getFunctionLocationAsync(func: AnyFunction): Promise<{ file: string; line: number; column: number }>;
    lookupCapturedVariableValueAsync(func: AnyFunction, freeVariable: string, throwOnFailure: boolean): Promise<unknown>;
  }>("v8");
  // Pulumi's inspector session (Debugger enabled, script ids mapped to files).
  const hooks = closureModule<{ getSessionAsync(): Promise<Session>; getScriptUrl(id: string): string | undefined }>("v8Hooks");
  let inspector: Promise<Inspector> | undefined;
  const inspect = () =>
    (inspector ??= (async () => {
      const session = await hooks.getSessionAsync();
      return new Inspector(session, await inspectableContext(session));
    })());

  v8.getFunctionLocationAsync = async (func) => {
    const location = await (await inspect()).location(func);
    if (!location) return { file: "", line: 0, column: 0 };
    return { file: hooks.getScriptUrl(location.scriptId) || "", line: location.lineNumber || 0, column: location.columnNumber || 0 };
  };

  v8.lookupCapturedVariableValueAsync = async (func, freeVariable, throwOnFailure) => {
    const scopes = await (await inspect()).scopes(func);
    for (let i = 0; i < scopes.length; i++) {
      const object = scopes[i].object;
      if (object && freeVariable in object) return object[freeVariable];
    }
    if (throwOnFailure) throw new Error(`Unexpected missing variable in closure environment: ${freeVariable}`);
    return undefined;
  };
}

/**
 * The @pulumi/pulumi whose serializer the above was read from and compared with (every evaluated
 * stack of the suite byte-identical). Another version gets its own serializer, unchanged.
 */
const MIRRORED_PULUMI = "3.270.0";

/** Installs the above; called once in an evaluation child, before it evaluates a program. */
export function serializeClosuresCheaply(): void {
  if ((require("@pulumi/pulumi/package.json") as { version: string }).version !== MIRRORED_PULUMI) return;
  parseEachTextOnce();
  inspectEachFunctionOnce();
}
