// Builds one app into dist/apps/<app>/main.js: the app and the workspace libs it imports are
// bundled (TypeScript through ts-loader, which keeps Nest's decorator metadata; esbuild would
// drop it), npm packages stay external and come from node_modules at run time.
const path = require('node:path');
const nodeExternals = require('webpack-node-externals');
const { TsconfigPathsPlugin } = require('tsconfig-paths-webpack-plugin');

const root = path.resolve(__dirname, '..', '..');

module.exports = (env = {}) => {
  const app = env.app;
  if (!app) throw new Error('pass --env app=<name>');
  return {
    mode: 'production',
    target: 'node20',
    context: root,
    entry: path.join(root, 'apps', app, 'src', 'main.ts'),
    output: { path: path.join(root, 'dist', 'apps', app), filename: 'main.js', clean: true },
    devtool: 'source-map',
    // Readable stack traces and class names (Nest logs context by class name).
    optimization: { minimize: false, nodeEnv: false },
    externalsPresets: { node: true },
    externals: [nodeExternals({ modulesDir: path.join(root, 'node_modules') })],
    resolve: {
      extensions: ['.ts', '.js'],
      plugins: [new TsconfigPathsPlugin({ configFile: path.join(root, 'tsconfig.base.json') })],
    },
    module: {
      rules: [
        {
          test: /\.ts$/,
          exclude: /node_modules/,
          loader: 'ts-loader',
          // Type checking is `npm run typecheck` (tsc --noEmit over the whole repo), once.
          options: { transpileOnly: true, configFile: path.join(root, 'tsconfig.base.json') },
        },
      ],
    },
    // Nest's optional integrations are resolved lazily at run time; keep webpack quiet about them.
    ignoreWarnings: [/Can't resolve/, /Critical dependency/],
    stats: 'errors-warnings',
  };
};
