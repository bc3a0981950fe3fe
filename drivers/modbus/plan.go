package modbus

import (
	"sort"
)

// Request is one read of a contiguous block of one table.
type Request struct {
	// Table is the table read (function 3, 4, 1 or 2).
	Table Table
	// Start is the first address read, Count the number of registers (or
	// bits, for coils and discrete inputs).
	Start, Count uint16
	// Points are the indices in Profile.Points of the points the block
	// holds, in address order.
	Points []int
}

// tableOrder is the order requests are issued in.
var tableOrder = []Table{Holding, Input, Coil, Discrete}

// atom is a span that one request must read whole: one point, or several
// points sharing registers (bits of one register).
type atom struct {
	start, end int // inclusive
	points     []int
}

// Plan turns a profile into the fewest read requests that cover all its
// points. Each request reads at most p.MaxRegisters registers (MaxBits
// bits for coils and discrete inputs), reads through a run of unmapped
// registers only when it is at most p.MaxGap long, never touches an
// Unreadable range, and never splits a multi-register value. Among plans
// with the fewest requests it returns one reading the fewest registers.
// Plan is pure and safe for concurrent use.
func Plan(p *Profile) []Request {
	maxGap := DefaultMaxGap
	if p.MaxGap != nil {
		maxGap = *p.MaxGap
	}
	var out []Request
	for _, t := range tableOrder {
		limit := p.MaxRegisters
		if limit <= 0 || limit > MaxRegisters {
			limit = MaxRegisters
		}
		if isBitTable(t) {
			limit = MaxBits
		}
		atoms := tableAtoms(p, t)
		if len(atoms) == 0 {
			continue
		}
		var blocked []Range
		for _, u := range p.Unreadable {
			if u.Table == t || (u.Table == "" && t == Holding) {
				blocked = append(blocked, u)
			}
		}
		out = append(out, planAtoms(t, atoms, limit, maxGap, blocked)...)
	}
	return out
}

// tableAtoms returns the points of table t merged into sorted, disjoint atoms.
func tableAtoms(p *Profile, t Table) []atom {
	var idx []int
	for i := range p.Points {
		if p.Points[i].Table == t || (p.Points[i].Table == "" && t == Holding) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.Points[idx[a]].Address < p.Points[idx[b]].Address })
	var atoms []atom
	for _, i := range idx {
		pt := &p.Points[i]
		w := pt.Words()
		if w < 1 {
			w = 1
		}
		s, e := int(pt.Address), int(pt.Address)+w-1
		if n := len(atoms); n > 0 && s <= atoms[n-1].end {
			atoms[n-1].end = max(atoms[n-1].end, e)
			atoms[n-1].points = append(atoms[n-1].points, i)
			continue
		}
		atoms = append(atoms, atom{start: s, end: e, points: []int{i}})
	}
	return atoms
}

// planAtoms partitions sorted atoms into consecutive groups, each one
// request. Feasibility of a group is monotone (a sub-run of a feasible run
// is feasible), so a request set can always be rearranged into consecutive
// groups, and a dynamic programme over prefixes finds the fewest groups,
// ties broken by fewest registers read.
func planAtoms(t Table, atoms []atom, limit, maxGap int, blocked []Range) []Request {
	n := len(atoms)
	const inf = int(^uint(0) >> 1)
	type cell struct{ reqs, regs, from int }
	best := make([]cell, n+1)
	for j := 1; j <= n; j++ {
		best[j] = cell{inf, inf, -1}
		end := atoms[j-1].end
		// Extend the group [i..j-1] leftwards while feasible.
		for i := j - 1; i >= 0; i-- {
			if end-atoms[i].start+1 > limit {
				break
			}
			if i < j-1 && atoms[i+1].start-atoms[i].end-1 > maxGap {
				break
			}
			if crosses(blocked, atoms[i].start, end) {
				break
			}
			prev := best[i]
			if prev.reqs == inf {
				continue
			}
			c := cell{prev.reqs + 1, prev.regs + end - atoms[i].start + 1, i}
			if c.reqs < best[j].reqs || (c.reqs == best[j].reqs && c.regs < best[j].regs) {
				best[j] = c
			}
		}
		if best[j].from < 0 {
			// An atom wider than a request, or inside an unreadable
			// range (validation rejects both): read it alone anyway.
			best[j] = cell{best[j-1].reqs + 1, best[j-1].regs + atoms[j-1].end - atoms[j-1].start + 1, j - 1}
		}
	}
	var out []Request
	for j := n; j > 0; j = best[j].from {
		i := best[j].from
		r := Request{Table: t, Start: uint16(atoms[i].start), Count: uint16(atoms[j-1].end - atoms[i].start + 1)}
		for k := i; k < j; k++ {
			r.Points = append(r.Points, atoms[k].points...)
		}
		out = append(out, r)
	}
	for a, b := 0, len(out)-1; a < b; a, b = a+1, b-1 {
		out[a], out[b] = out[b], out[a]
	}
	return out
}

// crosses reports whether [start, end] touches a blocked range.
func crosses(blocked []Range, start, end int) bool {
	for _, u := range blocked {
		if int(u.Start) <= end && start <= int(u.End) {
			return true
		}
	}
	return false
}
