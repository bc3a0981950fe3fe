package sunspecsim

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
)

// ModelsDir returns the directory of the SunSpec model definitions in the
// source tree this package was built from. It serves tests, which run in
// the source tree; binaries load the embedded copy instead.
func ModelsDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("sunspecsim: cannot locate the source tree")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "firmware-config", "profiles", "modbus", "sunspec")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("sunspecsim: model definitions: %w", err)
	}
	return dir, nil
}

// RepoModels loads the model definitions from ModelsDir.
func RepoModels() (*sunspec.Models, error) {
	dir, err := ModelsDir()
	if err != nil {
		return nil, err
	}
	return sunspec.LoadModels(os.DirFS(dir))
}
