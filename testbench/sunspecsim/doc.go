// Package sunspecsim serves a SunSpec lithium-ion battery over Modbus TCP on
// 127.0.0.1, on github.com/simonvetter/modbus's server (a Modbus stack we did
// not write), for tests of the SunSpec reader and the probe verb.
//
// The battery has models 1, 802, 803, one 804 per string and one 805 per
// module, each with its repeating groups, laid out from the same model
// definitions the reader uses (firmware-config/profiles/modbus/sunspec).
// Values come from a deterministic source and use non-trivial scale factors
// (V_SF -2, CellV_SF -3, Tmp_SF -1, A_SF -1, AHRtg_SF 1, SoC_SF 0); one cell
// temperature sensor reads as not implemented (0x8000) when the bank has a
// third module in a second string. Values and Texts return what is served,
// named by the contract vocabulary, worked out independently of the
// reader's mapping so tests can compare the two.
package sunspecsim
