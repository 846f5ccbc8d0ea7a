// Unit tests of the frontend: TypeScript through swc, in jsdom. The root
// jest.config.js spreads this and sets rootDir to the plugin's directory.
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/src'],
  setupFiles: ['<rootDir>/.config/jest/polyfills.js'],
  setupFilesAfterEnv: ['<rootDir>/.config/jest-setup.ts'],
  transform: {
    '^.+\\.(t|j)sx?$|^.+\\.mjs$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2020',
          parser: { syntax: 'typescript', tsx: true },
          transform: { react: { runtime: 'classic' } },
        },
      },
    ],
  },
  // Some of Grafana's dependencies ship ES modules only.
  transformIgnorePatterns: [
    'node_modules/(?!(ol|d3|d3-.*|internmap|delaunator|robust-predicates|marked|uuid|react-colorful|react-calendar|get-user-locale|memoize|mimic-function|@wojtekmaj/date-utils|@grafana/.*)/)',
  ],
  moduleNameMapper: {
    '\\.(css|scss|sass)$': '<rootDir>/.config/jest/style-mock.js',
    // Icons load SVGs asynchronously; tests do not look at them.
    '^react-inlinesvg$': '<rootDir>/.config/jest/svg-mock.js',
  },
};
