// Package command is the signed command format of the Emberwatch contracts
// (section 5): shed commands a gateway publishes on
// emberwatch/v1/<site>/shed/<group>, and operator commands (acknowledge,
// silence) addressed to a gateway's alert lifecycle.
//
// A command is one JSON object:
//
//	{"action":"shutdown","gateway":"gw-1","group":"rack-a","issued":"2026-03-01T01:02:03.5Z",
//	 "key":"5f0c8e1a2b3c4d5e","reason":{"device":"bms-1","id":"...","kind":"thermal_runaway","level":"critical"},
//	 "seq":1772326923500,"sig":"<base64>","site":"dc-1","tier":1}
//
// # Canonical form and signature
//
// sig is the standard base64 (with padding) of the Ed25519 signature of the
// canonical form of the object without its "sig" member. The canonical form
// is the JSON text written with
//
//   - object members sorted by the bytes of their names, each name once;
//   - no whitespace outside strings;
//   - strings as UTF-8 with only '"', '\\' and the control characters below
//     U+0020 escaped: \b \t \n \f \r in their short forms, the others as
//     \u00xx with lower-case hex; no other escapes;
//   - numbers only as integers in decimal without sign for zero, fraction or
//     exponent, between -(2^53-1) and 2^53-1;
//   - true, false and null as themselves.
//
// This is the JSON Canonicalization Scheme (RFC 8785) restricted to
// integers, so any language can produce it. A command whose JSON has a
// fraction, an exponent, duplicate names or invalid UTF-8 is rejected as
// malformed rather than normalised.
//
// key names the signing key: the first 8 bytes, in hex, of the SHA-256 of
// the 32-byte Ed25519 public key (KeyID). A receiver trusts a set of public
// keys and rejects a command whose key it does not know.
//
// # Sequence and age
//
// seq is per issuing gateway (the "gateway" member) and only goes up: a
// Signer hands out max(last+1, issue time in Unix milliseconds), so a
// gateway that lost its state still moves forward. A Verifier keeps the
// highest sequence accepted from each gateway in a small state file and
// rejects a command whose seq is not above it (replayed or older), a
// command issued longer ago than its MaxAge, and one issued further in the
// future than its MaxSkew.
//
// Keys are stored as one line of standard base64: PREFIX.key holds the
// 32-byte Ed25519 seed (mode 0600), PREFIX.pub the 32-byte public key
// (GenerateKeyFiles, LoadPrivateKey, LoadPublicKey).
package command
