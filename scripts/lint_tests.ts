/**
 * A `deno lint` plugin (deno.json `lint.plugins`) with one rule for test files (`*_test.ts`):
 * `credproc-tests/must-assert` — every `Deno.test` body and every `t.step` body holds at least one assertion.
 *
 * An assertion is, anywhere inside the body (nested callbacks and steps included):
 * - a call of `assert(…)` or `assert.<anything>(…)` (node:assert), or `fc.assert(…)` (fast-check's runner
 *   throws on a counterexample) — but not one whose arguments are all constants (`assert.ok(true)`), unless it
 *   is `assert.fail(…)` or asserts `false`;
 * - a `throw` statement;
 * - a call of a function declared in the same file whose own body holds an assertion (followed through any
 *   number of local calls: a local `ok` that only parses does not count), or such a function passed by name
 *   to a call (`results.forEach(check)`);
 * - a call of one of {@link ASSERTING_HELPERS}, the tests/support helpers that assert
 *   (tests/e2e/test_runner_test.ts checks that each one is exported there and asserts by this same rule), unless
 *   the file declares its own function of that name.
 *
 * What it cannot see, said plainly: whether the assertion runs (one in a branch or a callback never taken
 * passes), and whether it can fail (`assert.ok(x)` with an `x` that is always true). It is a floor: a test
 * that only prints or only runs something fails it; a test with a real but unreachable assertion does not.
 */

/** Helpers exported by tests/support that fail the test when what they check does not hold. */
export const ASSERTING_HELPERS: readonly string[] = [
  "ok",
  "okVerbose",
  "okJson",
  "okText",
  "assertNoLeak",
  "assertOneErrorLine",
  "assertNoCrash",
  "assumeOptions",
  "mkfifo",
  "tokenUrl",
  "until",
  "waitForPort",
];

/** The rule's id as `deno lint` prints it. */
export const MUST_ASSERT = "credproc-tests/must-assert";

type Node = Deno.lint.Node;
type Range = readonly [number, number];

const FUNCTION_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);
// deno-lint-ignore no-explicit-any -- the plugin walks the AST by shape; its node union has no common accessors
type Any = any;

function isFunction(n: Node | null | undefined): boolean {
  return n !== null && n !== undefined && FUNCTION_TYPES.has(n.type);
}

/** `Deno.test(…)`, `Deno.test.only(…)`, `Deno.test.ignore(…)`. */
function isDenoTest(callee: Any): boolean {
  const m = callee.type === "MemberExpression" && callee.object.type === "MemberExpression"
    ? callee.object
    : callee;
  return m.type === "MemberExpression" && m.object.type === "Identifier" && m.object.name === "Deno" &&
    m.property.type === "Identifier" && m.property.name === "test";
}

/** `<something>.step(…)`: a test context's step. */
function isStep(callee: Any): boolean {
  return callee.type === "MemberExpression" && !callee.computed && callee.property.type === "Identifier" &&
    callee.property.name === "step";
}

/** The body a `Deno.test` or `t.step` call runs: a function argument, a name, or an options object's `fn`. */
function testFn(call: Any): Any | undefined {
  for (const arg of [...call.arguments].reverse()) {
    if (isFunction(arg) || arg.type === "Identifier") return arg;
    if (arg.type === "ObjectExpression") {
      for (const p of arg.properties) {
        if (p.type === "Property" && p.key.type === "Identifier" && p.key.name === "fn") return p.value;
      }
    }
  }
  return undefined;
}

function isConstant(arg: Any): boolean {
  return arg.type === "Literal" || (arg.type === "TemplateLiteral" && arg.expressions.length === 0);
}

/** Whether a call is an assertion by itself (node:assert, fast-check), before any name is looked up. */
function isAssertCall(call: Any): boolean {
  const c = call.callee;
  let method: string | undefined;
  if (c.type === "Identifier" && c.name === "assert") method = "";
  else if (
    c.type === "MemberExpression" && c.object.type === "Identifier" && c.property.type === "Identifier" &&
    (c.object.name === "assert" || (c.object.name === "fc" && c.property.name === "assert"))
  ) method = c.property.name;
  if (method === undefined) return false;
  if (method === "fail" || call.arguments.length === 0) return true;
  if (call.arguments.some((a: Any) => a.type === "Literal" && a.value === false)) return true;
  return !call.arguments.every(isConstant);
}

interface Fn {
  range: Range;
  name?: string;
  /** Parameter names, in order (a wrapper around `Deno.test` passes one of them on as the body). */
  params: string[];
}

function paramNames(fn: Any): string[] {
  return fn.params.map((p: Any) =>
    p.type === "Identifier"
      ? p.name
      : p.type === "AssignmentPattern" && p.left.type === "Identifier"
      ? p.left.name
      : ""
  );
}

const inside = (pos: number, r: Range) => r[0] <= pos && pos < r[1];

const plugin: Deno.lint.Plugin = {
  name: "credproc-tests",
  rules: {
    "must-assert": {
      create(ctx) {
        if (!/_test\.ts$/.test(ctx.filename)) return {};
        const fns: Fn[] = [];
        const evidence: number[] = [];
        const calls: { pos: number; name: string; args: Any[] }[] = [];
        const tests: { node: Node; fn: Any; what: string }[] = [];
        const declared = new Set<string>();
        const declare = (name: string, fn: Any) => {
          declared.add(name);
          fns.push({ range: fn.range, name, params: paramNames(fn) });
        };
        return {
          FunctionDeclaration(n: Any) {
            if (n.id) declare(n.id.name, n);
          },
          VariableDeclarator(n: Any) {
            if (n.id.type === "Identifier" && isFunction(n.init)) declare(n.id.name, n.init);
          },
          FunctionExpression(n: Any) {
            fns.push({ range: n.range, params: paramNames(n) });
          },
          ArrowFunctionExpression(n: Any) {
            fns.push({ range: n.range, params: paramNames(n) });
          },
          ThrowStatement(n: Any) {
            evidence.push(n.range[0]);
          },
          CallExpression(n: Any) {
            if (isDenoTest(n.callee) || isStep(n.callee)) {
              const fn = testFn(n);
              if (fn) tests.push({ node: n, fn, what: isStep(n.callee) ? "t.step" : "Deno.test" });
              return;
            }
            if (isAssertCall(n)) evidence.push(n.range[0]);
            else if (n.callee.type === "Identifier") {
              calls.push({ pos: n.range[0], name: n.callee.name, args: [...n.arguments] });
            }
            // A function passed by name is called by the callee (`results.forEach(ok)`).
            for (const a of n.arguments) {
              if (a.type === "Identifier") calls.push({ pos: a.range[0], name: a.name, args: [] });
            }
          },
          "Program:exit"() {
            // Local functions that assert, to a fixed point through local calls.
            const asserting = new Set<string>();
            const holds = (r: Range) =>
              evidence.some((p) => inside(p, r)) ||
              calls.some((c) => asserting.has(c.name) && inside(c.pos, r));
            for (let grew = true; grew;) {
              grew = false;
              for (const f of fns) {
                if (f.name && !asserting.has(f.name) && holds(f.range)) {
                  asserting.add(f.name);
                  grew = true;
                }
              }
            }
            for (const name of ASSERTING_HELPERS) if (!declared.has(name)) asserting.add(name);
            const asserts = (fn: Any) => fn.type === "Identifier" ? asserting.has(fn.name) : holds(fn.range);
            const report = (node: Node, what: string) =>
              ctx.report({
                node,
                message: `this ${what} body holds no assertion: it cannot fail`,
                hint:
                  "assert an exact output (node:assert), call a helper that asserts, or throw; figures belong in `deno task bench`",
              });
            for (const { node, fn, what } of tests) {
              if (asserts(fn)) continue;
              // A wrapper (`function shTest(name, fn) { Deno.test({ name, fn }) }`): each call's body is checked.
              const wrapper = fn.type === "Identifier"
                ? fns.filter((f) => f.name && inside(node.range[0], f.range) && f.params.includes(fn.name))
                  .at(-1)
                : undefined;
              if (wrapper) {
                const at = wrapper.params.indexOf(fn.name);
                for (const c of calls) {
                  if (c.name === wrapper.name && !(c.args[at] && asserts(c.args[at]))) {
                    report(c.args[at] ?? node, `${wrapper.name}(…)`);
                  }
                }
                continue;
              }
              report(node, what);
            }
          },
        };
      },
    },
  },
};

export default plugin;
