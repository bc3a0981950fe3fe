package shed

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadPlan(t *testing.T) {
	p, err := LoadPlan(filepath.Join("testdata", "room.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) != 2 || len(p.Tiers) != 2 || p.Tiers[1].Deadline != 180*time.Second || p.Groups[0].Line != 4 {
		t.Fatalf("plan %+v", p)
	}
}

func TestPlanErrors(t *testing.T) {
	file := filepath.Join("testdata", "broken.yaml")
	_, err := LoadPlan(file)
	if !errors.Is(err, ErrPlan) {
		t.Fatalf("err %v, want plan errors", err)
	}
	want := []string{
		`:3: shed.groups[0].include: include cycle: a -> b -> a`,
		`:7: shed.groups[2]: group "c" is empty: no hosts, outlets or include`,
		`:8: shed.groups[3].include: unknown group "nowhere"`,
		`:11: shed.groups[4].name: group "d" defined twice (first on line 8)`,
		`:14: shed.groups[4].outlets[0].pdu: required`,
		`:14: shed.groups[4].outlets[0].outlets: outlet 0: outlets are numbered from 1`,
		`:16: shed.tiers[0].groups: tier "t1" is empty`,
		`:17: shed.tiers[1].groups: unknown group "ghost"`,
		`:17: shed.tiers[1].deadline: required and positive`,
		`:18: shed.tiers[2].groups: group "d" is already shed in tier "t2"`,
		`:20: shed.rules[0].kind: unknown kind "fire"`,
		`:20: shed.rules[0].level: unknown level "severe"`,
		`:20: shed.rules[0].tiers: unknown tier "t9"`,
	}
	lines := strings.Split(err.Error(), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, file) && strings.Contains(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no error %q in\n%s", w, err)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(lines), len(want), err)
	}
}

func TestPlanSyntax(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "shed:\n  groups:\n    - name: a\n      hosts: [h]\n      hostz: [x]\n", "line 5: unknown key \"hostz\""},
		{"bad duration", "shed:\n  tiers:\n    - {name: t, groups: [a], deadline: soon}\n", "line 3"},
		{"plan at top level", "groups:\n  - {name: a, hosts: [h]}\ntiers:\n  - {name: t, groups: [a], deadline: 1m}\n", ""},
	}
	for _, tc := range cases {
		p := filepath.Join(t.TempDir(), "plan.yaml")
		if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPlan(p)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
