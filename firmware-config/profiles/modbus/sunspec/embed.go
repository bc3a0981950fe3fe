// Package sunspecmodels holds the SunSpec model definitions (one YAML file
// a model) that drivers/modbus/sunspec decodes devices with, embedded so
// the binary carries them. The files are data; this package only embeds
// them.
package sunspecmodels

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var files embed.FS

// FS returns the model definitions: model_N.yaml at its root.
func FS() fs.FS { return files }
