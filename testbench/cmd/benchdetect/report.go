package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/testbench/scenario"
)

const rackYear = 365.25 * 86400

// famStats gathers one runaway family's figures per judge.
type famStats struct {
	n          int
	beforeVent [nJudges]int
	leadVent   [nJudges][]float64 // minutes, warned scenarios only
	leadRun    [nJudges][]float64
	missed     [nJudges]int // never warned after the fault
	preFault   [nJudges]int // alarms before the fault began
	over60     []float64    // detector lead over the 60 °C alarm, minutes
	no60       int          // 60 °C alarm never rang
}

// nuisStats gathers one nuisance family's figures.
type nuisStats struct {
	traces   int
	seconds  float64
	false_   [nJudges]int
	expected int // traces where every expected kind was raised
	withExp  int
}

func report(w io.Writer, o options, results []result, wall time.Duration) {
	runFams := map[string]*famStats{}
	nuisFams := map[string]*nuisStats{}
	var runOrder, nuisOrder []string
	rows := 0
	skipped := map[string]int{}
	var allOver60 []float64
	for _, r := range results {
		rows += r.rows
		t := r.truth
		if t.Class == scenario.Runaway {
			event := t.FirstVentTime
			if event == nil {
				event = t.RunawayTime
			}
			if event == nil {
				skipped[r.name]++
				continue
			}
			fs := runFams[r.name]
			if fs == nil {
				fs = &famStats{}
				runFams[r.name] = fs
				runOrder = append(runOrder, r.name)
			}
			fs.n++
			fault := t.Start
			if t.FaultTime != nil {
				fault = *t.FaultTime
			}
			var warnAt [nJudges]time.Time
			for j := range nJudges {
				v := r.judges[j]
				at, before := v.firstAfter(fault)
				fs.preFault[j] += before
				warnAt[j] = at
				if at.IsZero() {
					fs.missed[j]++
					continue
				}
				if !at.After(*event) {
					fs.beforeVent[j]++
				}
				fs.leadVent[j] = append(fs.leadVent[j], event.Sub(at).Minutes())
				if t.RunawayTime != nil {
					fs.leadRun[j] = append(fs.leadRun[j], t.RunawayTime.Sub(at).Minutes())
				}
			}
			if !warnAt[jDetector].IsZero() {
				if warnAt[j60C].IsZero() {
					fs.no60++
				} else {
					d := warnAt[j60C].Sub(warnAt[jDetector]).Minutes()
					fs.over60 = append(fs.over60, d)
					allOver60 = append(allOver60, d)
				}
			}
			continue
		}
		ns := nuisFams[r.name]
		if ns == nil {
			ns = &nuisStats{}
			nuisFams[r.name] = ns
			nuisOrder = append(nuisOrder, r.name)
		}
		ns.traces++
		ns.seconds += t.Duration
		for j := range nJudges {
			ns.false_[j] += r.judges[j].raised
		}
		if len(t.ExpectKinds) > 0 {
			ns.withExp++
			ok := true
			for _, k := range t.ExpectKinds {
				ok = ok && r.kinds[k]
			}
			if ok {
				ns.expected++
			}
		}
	}

	fmt.Fprintf(w, "Emberwatch detector benchmark: seeds %d..%d per runaway family, %.2f rack-years of nuisances, %d readings, %v on %d workers\n\n",
		o.base, o.base+uint64(o.seeds)-1, sumYears(nuisFams), rows, wall.Round(time.Second), o.workers)
	if v := o.variation(); v != "" {
		fmt.Fprintf(w, "Varied from the fixed set: %s\n\n", v)
	}
	fmt.Fprintf(w, "| runaway family | n | judge | warned before venting | lead before venting, median / worst (min) | lead before runaway, median / worst (min) | alarms before the fault |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|\n")
	tot := famStats{}
	for _, f := range runOrder {
		fs := runFams[f]
		for j := range nJudges {
			name := ""
			n := ""
			if j == 0 {
				name, n = f, fmt.Sprint(fs.n)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %d/%d | %s | %s | %d |\n", name, n, judgeNames[j], fs.beforeVent[j], fs.n,
				medWorst(fs.leadVent[j], fs.missed[j]), medWorst(fs.leadRun[j], fs.missed[j]), fs.preFault[j])
			tot.beforeVent[j] += fs.beforeVent[j]
			tot.leadVent[j] = append(tot.leadVent[j], fs.leadVent[j]...)
			tot.leadRun[j] = append(tot.leadRun[j], fs.leadRun[j]...)
			tot.missed[j] += fs.missed[j]
			tot.preFault[j] += fs.preFault[j]
		}
		tot.n += fs.n
	}
	for j := range nJudges {
		name, n := "", ""
		if j == 0 {
			name, n = "**all runaways**", fmt.Sprint(tot.n)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d/%d | %s | %s | %d |\n", name, n, judgeNames[j], tot.beforeVent[j], tot.n,
			medWorst(tot.leadVent[j], tot.missed[j]), medWorst(tot.leadRun[j], tot.missed[j]), tot.preFault[j])
	}
	for _, f := range slices.Sorted(maps.Keys(skipped)) {
		fmt.Fprintf(w, "\n(%s: %d seeds neither vented nor ran away and are left out)", f, skipped[f])
	}
	fmt.Fprintf(w, "\n\n| nuisance family | traces | rack-years | false thermal_runaway warnings: detector | 60C alarm | 1C/min alarm | expected kind raised |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|\n")
	var totN nuisStats
	for _, f := range nuisOrder {
		ns := nuisFams[f]
		exp := "-"
		if ns.withExp > 0 {
			exp = fmt.Sprintf("%d/%d", ns.expected, ns.withExp)
		}
		fmt.Fprintf(w, "| %s | %d | %.2f | %d | %d | %d | %s |\n", f, ns.traces, ns.seconds/rackYear,
			ns.false_[jDetector], ns.false_[j60C], ns.false_[jRoR], exp)
		totN.traces += ns.traces
		totN.seconds += ns.seconds
		for j := range nJudges {
			totN.false_[j] += ns.false_[j]
		}
	}
	y := totN.seconds / rackYear
	defer fmt.Fprintf(w, "Expected kinds: environment on an HVAC failure, sensor_fault where a sensor glitched or went open, comms_lost on a comms loss; over the traces that have one.\n")
	fmt.Fprintf(w, "| **all nuisances** | %d | %.2f | %d (%.2f per rack-year) | %d (%.1f per rack-year) | %d (%.1f per rack-year) | |\n",
		totN.traces, y, totN.false_[jDetector], perYear(totN.false_[jDetector], y),
		totN.false_[j60C], perYear(totN.false_[j60C], y), totN.false_[jRoR], perYear(totN.false_[jRoR], y))
	fmt.Fprintf(w, "\nDetector lead over the 60 C alarm: median %s over %d runaways where both rang",
		fmtMin(median(allOver60)), len(allOver60))
	no60 := 0
	for _, fs := range runFams {
		no60 += fs.no60
	}
	if no60 > 0 {
		fmt.Fprintf(w, " (the 60 C alarm never rang on %d more)", no60)
	}
	fmt.Fprintln(w, ".")
}

func sumYears(m map[string]*nuisStats) float64 {
	s := 0.0
	for _, n := range m {
		s += n.seconds
	}
	return s / rackYear
}

func perYear(n int, y float64) float64 {
	if y == 0 {
		return math.NaN()
	}
	return float64(n) / y
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtMin(m float64) string {
	if math.IsNaN(m) {
		return "-"
	}
	return fmt.Sprintf("%.1f min", m)
}

// medWorst formats the median and worst (smallest) leads; a scenario never
// warned is the worst of all.
func medWorst(v []float64, missed int) string {
	if len(v) == 0 {
		if missed > 0 {
			return "never warned"
		}
		return "-"
	}
	worst := fmt.Sprintf("%.1f", slices.Min(v))
	if missed > 0 {
		worst = fmt.Sprintf("%d never warned", missed)
	}
	return strings.TrimSpace(fmt.Sprintf("%.1f / %s", median(v), worst))
}
