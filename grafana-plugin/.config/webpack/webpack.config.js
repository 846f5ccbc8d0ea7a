// Builds src/module.ts into dist/module.js as an AMD module that Grafana loads,
// with Grafana's own packages left as externals, and copies plugin.json, the
// images, the README, CHANGELOG and LICENSE next to it (what create-plugin's
// webpack config does; see ../README.md).
const path = require('path');
const CopyWebpackPlugin = require('copy-webpack-plugin');

// The plugin's directory: this file is in .config/webpack/.
const root = path.resolve(__dirname, '..', '..');
const pkg = require(path.join(root, 'package.json'));
const pluginJson = require(path.join(root, 'src', 'plugin.json'));

// Packages Grafana provides at run time: bundling them would load a second copy.
const EXTERNALS = [
  'react',
  'react-dom',
  'react-router',
  'react-router-dom',
  'react-redux',
  'redux',
  'rxjs',
  'lodash',
  'moment',
  'slate',
  'slate-react',
  'slate-plain-serializer',
  'prismjs',
  'i18next',
  'emotion',
  '@emotion/css',
  '@emotion/react',
  '@grafana/data',
  '@grafana/runtime',
  '@grafana/ui',
  '@grafana/i18n',
];

module.exports = (_env, argv) => {
  const production = argv.mode !== 'development';
  return {
    mode: production ? 'production' : 'development',
    context: path.join(root, 'src'),
    devtool: production ? 'source-map' : 'eval-source-map',
    entry: { module: './module.ts' },
    externals: [
      ...EXTERNALS,
      ({ request }, callback) => {
        // rxjs/operators and the like come with rxjs.
        if (request && /^rxjs\//.test(request)) {
          return callback(undefined, request);
        }
        callback();
      },
    ],
    output: {
      clean: { keep: /^gpx_/ }, // the backend binaries are built into dist/ too
      filename: '[name].js',
      library: { type: 'amd' },
      path: path.join(root, 'dist'),
      publicPath: `public/plugins/${pluginJson.id}/`,
      uniqueName: pluginJson.id,
    },
    resolve: { extensions: ['.ts', '.tsx', '.js', '.jsx'] },
    module: {
      rules: [
        {
          test: /\.[tj]sx?$/,
          exclude: /node_modules/,
          use: {
            loader: 'swc-loader',
            options: {
              jsc: {
                target: 'es2020',
                parser: { syntax: 'typescript', tsx: true },
                transform: { react: { runtime: 'classic' } },
              },
            },
          },
        },
      ],
    },
    performance: { hints: false },
    plugins: [
      new CopyWebpackPlugin({
        patterns: [
          {
            from: 'plugin.json',
            to: '.',
            transform: (content) =>
              content
                .toString()
                .replace('%VERSION%', pkg.version)
                .replace('%TODAY%', new Date().toISOString().slice(0, 10)),
          },
          { from: 'img/**/*', to: '.' },
          { from: '../README.md', to: '.' },
          { from: '../CHANGELOG.md', to: '.' },
          { from: '../LICENSE', to: '.' },
        ],
      }),
    ],
  };
};
