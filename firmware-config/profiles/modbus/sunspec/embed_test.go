package sunspecmodels_test

import (
	"testing"

	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	sunspecmodels "github.com/emberwatch/emberwatch/firmware-config/profiles/modbus/sunspec"
)

func TestEmbeddedModelsLoad(t *testing.T) {
	ms, err := sunspec.LoadModels(sunspecmodels.FS())
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 802, 803, 804, 805}
	got := ms.IDs()
	if len(got) != len(want) {
		t.Fatalf("models %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("models %v, want %v", got, want)
		}
	}
}
