// Command pluginrelease packages the Grafana data source plugin the way
// Grafana's plugin tooling does, for `make plugin` and `make release`:
//
//	pluginrelease manifest -src . -out grafana-plugin/dist/go_plugin_build_manifest
//	pluginrelease zip -dist grafana-plugin/dist -out claudehooks-live-datasource-0.1.0.zip
//
// manifest writes the Go build manifest with the plugin SDK's own generator
// (build/utils.GenerateManifest, what mage build:backend writes), over the Go
// files of the source archive a release ships (the repository's Go files,
// none under node_modules or hidden directories). zip writes the catalog zip:
// one top folder named for the plugin id holding dist/, after checking that
// dist/ has every file Grafana and the plugin validator look for, and then
// reads the zip back to check its layout.
//
// It owns packaging only: it builds nothing (make does) and never signs.
package main
