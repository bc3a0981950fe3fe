// Package queue is the gateway's store-and-forward log: an append-only
// folder of segment files holding the messages that must outlive a broker
// outage, a crash or a power loss (alert events, shed commands and their
// acknowledgements, and telemetry buffered while the broker is away).
//
// Each record is framed by a magic number, its length and a CRC-32C of
// its body, so a write torn by a power cut, or a sector gone bad, is
// detected on recovery: the damaged bytes are skipped, the torn tail of the
// newest segment is cut off, and every intact record before and after is
// kept. Records carry a sequence number; delivering a record appends an
// acknowledgement of its number, and a segment is removed once every record
// in it, and in every older segment, is acknowledged. A record is therefore
// delivered at least once, with the same bytes each time, in the order it
// was appended.
//
// A Log is bounded by whoever owns it: Size reports the bytes on disk and
// Thin rewrites the pending records keeping every k-th per key (used to
// thin telemetry of each device when the disk budget is reached).
//
// A Log is safe for concurrent use. It owns its folder: two Logs must never
// open the same folder.
package queue
