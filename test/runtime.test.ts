/**
 * The tests run on the runtime that ships (package.json `engines`: the current Node LTS), which
 * `npm ci` brings in from the npm registry (the `node` devDependency puts it first on the PATH of
 * every npm script), whatever Node the machine itself has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../common/version.js';

const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

t.test('this test runs on the Node the project ships with', async (t) => {
  const wanted = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);
  t.ok(wanted >= 24, `engines asks for a supported LTS (${pkg.engines.node})`);
  const major = Number(process.versions.node.split('.')[0]);
  t.ok(major >= wanted, `running on Node ${process.versions.node}, engines ${pkg.engines.node}`);
  t.equal(process.versions.node, pkg.devDependencies.node, 'exactly the pinned runtime');
});
