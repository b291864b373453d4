/**
 * The house's import rules (DESIGN.md, "Layout"), checked by `npm test` before the tests run (`npm run check:deps`):
 * dependencies go one way, no cycles, the pure floor stays pure, no private Node modules. A rule a change breaks
 * fails the run, naming the import.
 */
const IO_MODULES = '^(fs|fs/promises|child_process|net|tls|http|https|http2|dgram|dns|dns/promises|cluster|worker_threads|readline|os|process)$';
/** Where `server` may import the runner from besides runner/index.ts: the composition roots (roles, the CLI's entry). */
const SERVER_ROOTS = '^server/(roles|up)/|^server/bin\\.ts$';

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'A cycle makes load order matter and hides which part owns what.', from: {}, to: { circular: true } },
    {
      name: 'platform-is-pure', severity: 'error',
      comment: 'platform/ is vocabulary: no I/O, and nothing of the rest of the project.',
      from: { path: '^platform/' },
      to: { pathNot: '^platform/|^node_modules/', dependencyTypesNot: ['core'] },
    },
    { name: 'platform-no-io', severity: 'error', comment: 'platform/ does no I/O.', from: { path: '^platform/' }, to: { dependencyTypes: ['core'], path: IO_MODULES } },
    {
      name: 'cli-speaks-http', severity: 'error',
      comment: 'The CLI talks to the REST API only; it may use the platform vocabulary.',
      from: { path: '^cli/' },
      to: { path: '^(server|runner|router|buildpacks)/' },
    },
    {
      name: 'buildpacks-on-platform', severity: 'error',
      comment: 'The buildpacks take an executor from whoever runs them; of the project they know the platform vocabulary only.',
      from: { path: '^buildpacks/' },
      to: { path: '^(server|runner|router|cli)/' },
    },
    {
      name: 'never-import-server', severity: 'error',
      comment: 'router, runner, buildpacks and platform never import the control plane.',
      from: { path: '^(router|runner|buildpacks|platform)/' },
      to: { path: '^server/' },
    },
    {
      name: 'server-through-runner-index', severity: 'error',
      comment: 'The control plane reaches the runner through runner/index.ts (the composition roots aside).',
      from: { path: '^server/', pathNot: SERVER_ROOTS },
      to: { path: '^runner/', pathNot: '^runner/index\\.ts$' },
    },
    {
      name: 'no-private-node-modules', severity: 'warn',
      comment: 'Node\'s private modules (_http_common …) change without notice; the router leaves them (#31, point 3).',
      from: {},
      to: { dependencyTypes: ['core'], path: '^_' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|test/fixtures|web)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
