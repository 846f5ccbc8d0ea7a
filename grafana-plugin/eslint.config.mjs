// The shared settings are in .config/ (create-plugin's layout).
export { default } from './.config/eslint.config.mjs';
