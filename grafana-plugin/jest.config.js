// The shared settings are in .config/ (create-plugin's layout); add this
// plugin's own here.
module.exports = {
  ...require('./.config/jest.config'),
  rootDir: __dirname,
};
