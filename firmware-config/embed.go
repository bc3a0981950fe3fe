// Package firmwareconfig carries the data the binary needs without a file
// system: the device profiles under profiles/ (profiles/modbus/NAME.yaml,
// profiles/modbus/sunspec/, ...) and the documented example site file
// site.example.yaml. The files are data; this package only embeds them.
package firmwareconfig

import (
	"embed"
	"io/fs"
)

//go:embed profiles site.example.yaml
var files embed.FS

// FS returns the embedded tree: site.example.yaml and profiles/ at its
// root, as in the repository's firmware-config directory.
func FS() fs.FS { return files }

// Profiles returns the profiles tree alone: modbus/NAME.yaml at its root.
func Profiles() fs.FS {
	sub, err := fs.Sub(files, "profiles")
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return sub
}
