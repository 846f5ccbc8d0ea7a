// Stands in for react-inlinesvg, whose asynchronous loading tests do not need.
const React = require('react');

module.exports = function InlineSVG() {
  return React.createElement('svg');
};
module.exports.default = module.exports;
