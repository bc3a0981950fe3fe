// Package sht4x drives the Sensirion SHT40/SHT41/SHT45 humidity and
// temperature sensors over I²C.
//
// Datasheet: https://sensirion.com/media/documents/33FD6951/662A593A/HT_DS_Datasheet_SHT4x.pdf
// (SHT4x).
//
// Each Sense sends a measure command (0xFD high precision by default,
// datasheet 4.5 table 7), waits the maximum measurement duration (table 4)
// and reads temperature and humidity, each word checked against its CRC-8
// (polynomial 0x31, init 0xFF). New probes the chip by reading its serial
// number (0x89), CRCs included. Humidity is cropped to 0-100 %RH as the
// datasheet prescribes (4.6): its formula spans -6 to 119 %RH.
//
// A Dev borrows its i2c.Bus: the application opens and closes the bus. A
// Dev is not safe for concurrent use.
package sht4x
