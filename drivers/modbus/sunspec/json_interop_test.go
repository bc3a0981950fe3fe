//go:build interop

package sunspec_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// jsonGroup is the part of a public SunSpec model definition (sunspec/models
// json/model_N.json) that our YAML transcribes.
type jsonGroup struct {
	Name   string          `json:"name"`
	Count  json.RawMessage `json:"count"`
	Points []struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Size  int    `json:"size"`
		SF    string `json:"sf"`
		Units string `json:"units"`
	} `json:"points"`
	Groups []jsonGroup `json:"groups"`
}

// TestModelsMatchPublicDefinitions checks the transcription: every point of
// the public definition, in order, with its type, size, scale factor and
// unit, and the repeating group with its count point.
func TestModelsMatchPublicDefinitions(t *testing.T) {
	ms, err := sunspec.DefaultModels()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ms.IDs() {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			path := peers.SharedData(t, fmt.Sprintf("modbus/model_%d.json", id))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var def struct {
				ID    int       `json:"id"`
				Group jsonGroup `json:"group"`
			}
			if err := json.Unmarshal(data, &def); err != nil {
				t.Fatal(err)
			}
			m, _ := ms.Model(id)
			if def.ID != id || def.Group.Name != m.Name {
				t.Errorf("model %d %q, the definition says %d %q", id, m.Name, def.ID, def.Group.Name)
			}
			comparePoints(t, "fixed block", m.Points, def.Group)
			if len(m.Groups) != len(def.Group.Groups) {
				t.Fatalf("%d groups, the definition has %d", len(m.Groups), len(def.Group.Groups))
			}
			for i, jg := range def.Group.Groups {
				g := m.Groups[i]
				var count string
				_ = json.Unmarshal(jg.Count, &count) // a number (0) means "to the end of the model"
				if g.Name != jg.Name || g.Count != count {
					t.Errorf("group %s counted by %q, the definition has %s counted by %s", g.Name, g.Count, jg.Name, jg.Count)
				}
				if len(jg.Groups) > 0 {
					t.Errorf("group %s: nested groups are not transcribed", jg.Name)
				}
				comparePoints(t, "group "+g.Name, g.Points, jg)
			}
		})
	}
}

func comparePoints(t *testing.T, where string, ps []sunspec.Point, jg jsonGroup) {
	t.Helper()
	if len(ps) != len(jg.Points) {
		t.Errorf("%s: %d points, the definition has %d", where, len(ps), len(jg.Points))
	}
	for i := 0; i < min(len(ps), len(jg.Points)); i++ {
		p, j := ps[i], jg.Points[i]
		if p.Name != j.Name || p.Type != j.Type || p.Len() != j.Size || p.SF != j.SF || p.Units != j.Units {
			t.Errorf("%s point %d: %s %s size %d sf %q units %q; the definition has %s %s size %d sf %q units %q",
				where, i, p.Name, p.Type, p.Len(), p.SF, p.Units, j.Name, j.Type, j.Size, j.SF, j.Units)
		}
	}
}
