package modbus

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestPlanTable(t *testing.T) {
	gap := func(n int) *int { return &n }
	u16 := func(name string, addr uint16) Register {
		return Register{Point: name, Table: Holding, Address: addr, Type: Uint16}
	}
	f32 := func(name string, addr uint16) Register {
		return Register{Point: name, Table: Holding, Address: addr, Type: Float32}
	}
	cases := []struct {
		name string
		p    Profile
		want []string // "table start+count"
	}{
		{"contiguous", Profile{Points: []Register{u16("a", 0), u16("b", 1), u16("c", 2)}},
			[]string{"holding 0+3"}},
		{"small gap bridged", Profile{MaxGap: gap(4), Points: []Register{u16("a", 0), u16("b", 5)}},
			[]string{"holding 0+6"}},
		{"large gap split", Profile{MaxGap: gap(3), Points: []Register{u16("a", 0), u16("b", 5)}},
			[]string{"holding 0+1", "holding 5+1"}},
		{"unreadable split", Profile{Unreadable: []Range{{Table: Holding, Start: 2, End: 2}},
			Points: []Register{u16("a", 0), u16("b", 5)}},
			[]string{"holding 0+1", "holding 5+1"}},
		{"unreadable other table", Profile{Unreadable: []Range{{Table: Input, Start: 2, End: 2}},
			Points: []Register{u16("a", 0), u16("b", 5)}},
			[]string{"holding 0+6"}},
		{"max registers, value not split", Profile{MaxRegisters: 4, Points: []Register{u16("a", 0), u16("b", 1), f32("c", 3), u16("d", 5)}},
			[]string{"holding 0+2", "holding 3+3"}},
		{"tables apart", Profile{Points: []Register{
			{Point: "i", Table: Input, Address: 0}, u16("h", 0), {Point: "c", Table: Coil, Address: 1999, Type: Bit},
			{Point: "c0", Table: Coil, Address: 0, Type: Bit}}},
			[]string{"holding 0+1", "input 0+1", "coil 0+1", "coil 1999+1"}},
		{"bits share", Profile{Points: []Register{{Point: "x", Address: 7, Type: Bit, Bit: 1, Table: Holding},
			{Point: "y", Address: 7, Type: Bit, Bit: 2, Table: Holding}}},
			[]string{"holding 7+1"}},
		{"fewer registers among equal counts", Profile{MaxRegisters: 3, MaxGap: gap(5), Points: []Register{u16("a", 0), u16("b", 3), u16("c", 4)}},
			// 0+1, 3+2 reads 3 registers; 0+3? infeasible; greedy 0..? -> also 2 requests
			[]string{"holding 0+1", "holding 3+2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(&tc.p)
			var s []string
			for _, r := range got {
				s = append(s, fmt.Sprintf("%s %d+%d", r.Table, r.Start, r.Count))
			}
			if fmt.Sprint(s) != fmt.Sprint(tc.want) {
				t.Errorf("Plan = %v, want %v", s, tc.want)
			}
			checkPlan(t, &tc.p, got)
		})
	}
}

// checkPlan verifies the rules every plan must keep.
func checkPlan(t *testing.T, p *Profile, reqs []Request) {
	t.Helper()
	gap := DefaultMaxGap
	if p.MaxGap != nil {
		gap = *p.MaxGap
	}
	limit := p.MaxRegisters
	if limit == 0 {
		limit = MaxRegisters
	}
	seen := make([]int, len(p.Points))
	for _, r := range reqs {
		l := limit
		if isBitTable(r.Table) {
			l = MaxBits
		}
		if int(r.Count) > l || r.Count == 0 {
			t.Errorf("request %+v reads %d, limit %d", r, r.Count, l)
		}
		end := int(r.Start) + int(r.Count) - 1
		for _, u := range p.Unreadable {
			if u.Table == r.Table && int(u.Start) <= end && int(r.Start) <= int(u.End) {
				t.Errorf("request %+v crosses unreadable %+v", r, u)
			}
		}
		covered := make([]bool, r.Count)
		for _, i := range r.Points {
			seen[i]++
			pt := p.Points[i]
			if pt.Table != r.Table || pt.Address < r.Start || int(pt.Address)+pt.Words()-1 > end {
				t.Errorf("point %s %d+%d not inside request %+v", pt.Point, pt.Address, pt.Words(), r)
				continue
			}
			for k := 0; k < pt.Words(); k++ {
				covered[int(pt.Address)-int(r.Start)+k] = true
			}
		}
		if !covered[0] || !covered[len(covered)-1] {
			t.Errorf("request %+v reads unmapped registers at an end", r)
		}
		run := 0
		for _, c := range covered {
			if c {
				run = 0
			} else if run++; run > gap {
				t.Errorf("request %+v bridges a gap longer than %d", r, gap)
				break
			}
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("point %s is in %d requests", p.Points[i].Point, n)
		}
	}
}

// randomProfile builds a profile of n non-overlapping points with random
// widths and gaps in one table, and random unreadable ranges in the gaps.
func randomProfile(r *rand.Rand, n int) *Profile {
	p := &Profile{MaxRegisters: 1 + r.IntN(20)}
	g := r.IntN(6)
	p.MaxGap = &g
	addr := r.IntN(5)
	types := []Type{Uint16, Uint16, Int32, Float32, Float64}
	for i := 0; i < n; i++ {
		typ := types[r.IntN(len(types))]
		pt := Register{Point: fmt.Sprintf("p%d", i), Table: Holding, Address: uint16(addr), Type: typ}
		p.Points = append(p.Points, pt)
		gapLen := 0
		if r.IntN(2) == 0 {
			gapLen = r.IntN(9)
		}
		if gapLen > 0 && r.IntN(4) == 0 {
			s := addr + pt.Words() + r.IntN(gapLen)
			p.Unreadable = append(p.Unreadable, Range{Table: Holding, Start: uint16(s), End: uint16(s)})
		}
		addr += pt.Words() + gapLen
	}
	return p
}

// bruteMinimum tries every partition of the atoms into consecutive groups
// and returns the fewest feasible requests. Feasibility is checked from
// first principles: span, gaps and unreadable registers.
func bruteMinimum(p *Profile) int {
	atoms := tableAtoms(p, Holding)
	n := len(atoms)
	best := n + 1
	for mask := 0; mask < 1<<(n-1); mask++ {
		groups, ok, start := 0, true, 0
		for k := 0; k < n && ok; k++ {
			if k == n-1 || mask&(1<<k) != 0 {
				s, e := atoms[start].start, atoms[k].end
				ok = e-s+1 <= p.MaxRegisters
				for m := start + 1; m <= k && ok; m++ {
					ok = atoms[m].start-atoms[m-1].end-1 <= *p.MaxGap
				}
				for _, u := range p.Unreadable {
					if int(u.Start) <= e && s <= int(u.End) {
						ok = false
					}
				}
				groups++
				start = k + 1
			}
		}
		if ok && groups < best {
			best = groups
		}
	}
	return best
}

func TestPlanMinimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 400; iter++ {
		p := randomProfile(r, 1+r.IntN(11))
		// Only profiles where every point fits a request and avoids
		// unreadable registers have a feasible plan to compare with.
		if bruteMinimum(p) > len(p.Points) {
			continue
		}
		got := Plan(p)
		if want := bruteMinimum(p); len(got) != want {
			t.Fatalf("profile %+v: Plan made %d requests, minimum is %d: %+v", p, len(got), want, got)
		}
		checkPlan(t, p, got)
	}
}

// profile500 is a rack BMS map of 500 registers: 8 modules of 16 cell
// voltages, a temperature and a 32-bit module voltage with small gaps
// between fields, larger gaps between modules, and one unreadable block.
func profile500() *Profile {
	p := &Profile{}
	g := 8
	p.MaxGap = &g
	addr := 0
	for m := 1; m <= 12 && countRegs(p) < 500; m++ {
		for c := 1; c <= 16 && countRegs(p) < 500; c++ {
			p.Points = append(p.Points, Register{Point: fmt.Sprintf("battery.module.%d.cell.%d.voltage", m, c), Table: Holding, Address: uint16(addr), Type: Uint16})
			addr++
		}
		addr += 4
		p.Points = append(p.Points, Register{Point: fmt.Sprintf("battery.module.%d.temperature", m), Table: Holding, Address: uint16(addr), Type: Int16})
		addr += 3
		p.Points = append(p.Points, Register{Point: fmt.Sprintf("battery.module.%d.voltage", m), Table: Holding, Address: uint16(addr), Type: Float32})
		addr += 2
		for c := 1; c <= 16 && countRegs(p) < 500; c++ {
			p.Points = append(p.Points, Register{Point: fmt.Sprintf("battery.module.%d.cell.%d.temperature", m, c), Table: Holding, Address: uint16(addr), Type: Int16})
			addr++
		}
		addr += 10 + m%3*5
		if m == 4 {
			p.Unreadable = append(p.Unreadable, Range{Table: Holding, Start: uint16(addr - 3), End: uint16(addr - 2)})
		}
	}
	for countRegs(p) < 500 {
		p.Points = append(p.Points, Register{Point: fmt.Sprintf("battery.cell.%d.voltage", countRegs(p)), Table: Holding, Address: uint16(addr), Type: Uint16})
		addr++
	}
	return p
}

func countRegs(p *Profile) int {
	n := 0
	for _, pt := range p.Points {
		n += pt.Words()
	}
	return n
}

// greedyMinimum is the textbook greedy cover (extend each request as far
// as it may go), minimal because feasibility is monotone over runs.
func greedyMinimum(p *Profile) int {
	atoms := tableAtoms(p, Holding)
	limit := p.MaxRegisters
	if limit == 0 {
		limit = MaxRegisters
	}
	n := 0
	for i := 0; i < len(atoms); {
		j := i
		for j+1 < len(atoms) && atoms[j+1].end-atoms[i].start+1 <= limit &&
			atoms[j+1].start-atoms[j].end-1 <= *p.MaxGap && !crosses(p.Unreadable, atoms[i].start, atoms[j+1].end) {
			j++
		}
		n++
		i = j + 1
	}
	return n
}

func TestPlan500(t *testing.T) {
	p := profile500()
	if countRegs(p) != 500 {
		t.Fatalf("profile has %d registers", countRegs(p))
	}
	got := Plan(p)
	checkPlan(t, p, got)
	if want := greedyMinimum(p); len(got) != want {
		t.Errorf("Plan made %d requests for 500 registers, minimum is %d", len(got), want)
	}
	t.Logf("500 registers in %d requests", len(got))
}

func BenchmarkPlan500(b *testing.B) {
	p := profile500()
	var reqs []Request
	for b.Loop() {
		reqs = Plan(p)
	}
	b.ReportMetric(float64(len(reqs)), "requests/poll")
	b.ReportMetric(float64(greedyMinimum(p)), "minimum")
}
