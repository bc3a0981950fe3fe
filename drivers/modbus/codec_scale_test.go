package modbus

import "testing"

func TestApplyScaleExactDecimals(t *testing.T) {
	tests := []struct {
		raw, scale, want float64
	}{
		{239, 0.1, 23.9},
		{5312, 0.01, 53.12},
		{3301, 0.001, 3.301},
		{4775, 1.0 / 128, 37.3046875},
		{12, 2, 24},
		{-405, 0.1, -40.5},
	}
	for _, tt := range tests {
		if got := applyScale(tt.raw, tt.scale); got != tt.want {
			t.Errorf("applyScale(%v, %v) = %v, want %v", tt.raw, tt.scale, got, tt.want)
		}
	}
}
