// Package sunspec reads SunSpec battery devices over Modbus: it finds the
// "SunS" marker (at 40000, then 0, then 50000), walks the model chain to the
// end marker, reads the models it has definitions for in as few requests as
// possible, sizes repeating groups from their count points and the model
// length, applies sunssf scale factors and returns drivers.Reading values
// named by the contract vocabulary.
//
// Model definitions are data: YAML files (one per model) loaded with
// LoadModels from an fs.FS; DefaultModels loads the copy built into the
// binary from firmware-config/profiles/modbus/sunspec.
// They are transcribed from the public SunSpec model definitions
// (https://github.com/sunspec/models, json/model_N.json) for models 1
// (Common), 802 (Battery Base), 803 (Lithium-Ion Bank), 804 (Lithium-Ion
// String) and 805 (Lithium-Ion Module).
//
// How the battery models relate: one 803 describes the bank and repeats a
// group per string; there is one 804 per string, its Idx naming the string
// (1-based), repeating a group per module of that string; there is one 805
// per module, its StrIdx and ModIdx naming the string and the module within
// the string, repeating a group per cell. Module and cell indices in point
// names are those indices; when the bank has more than one string, names of
// string, module and cell points take the prefix battery.string.S.
//
// Values the device marks as not implemented (0xFFFF for uint16 and
// enum16, 0x8000 for int16, 0xFFFFFFFF for uint32, 0x80000000 for int32, 0
// for accumulators) and values whose scale factor is 0x8000 are NaN.
//
// A Device borrows its Registers transport (a drivers/modbus Client); the
// caller opens and closes it. Device.Poll satisfies the agent's poller.
package sunspec
