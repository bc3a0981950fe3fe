package sunspec

import "github.com/emberwatch/emberwatch/drivers"

// Lookup exposes the vocabulary matcher to the external tests.
func Lookup() func(name string) (drivers.PointSpec, bool) { return drivers.NewVocabulary().Lookup }
