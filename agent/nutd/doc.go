// Package nutd is a read-only endpoint speaking the network protocol of
// Network UPS Tools' upsd, so hosts that already run NUT (upsmon, upsc)
// see each monitored battery device, and each shed group, as a UPS and
// shut down on its FSD flag without installing anything.
//
// It answers VER, NETVER, HELP, LIST UPS, LIST VAR, LIST CMD, LIST RW,
// LIST ENUM, LIST RANGE, LIST CLIENT, GET VAR, GET TYPE, GET DESC,
// GET UPSDESC, GET NUMLOGINS, USERNAME, PASSWORD, LOGIN and LOGOUT.
// USERNAME and PASSWORD are accepted and grant nothing; LOGIN is accepted
// for a known UPS (upsmon in secondary mode logs in to be counted);
// PRIMARY/MASTER, SET, INSTCMD, FSD and STARTTLS are refused: nothing can
// be changed through this endpoint.
//
// ups.status is the device's own status (OL if it has none) with FSD put
// in front while the name is in the set given to SetFSD (the shed engine's
// Engine.FSD: shed groups and the battery devices feeding them). In NUT
// the FSD flag is a latch; here it follows the shed state, which an
// authenticated operator command can clear, and every change is logged.
//
// The endpoint is off unless configured, and listens on 127.0.0.1:3493 by
// default.
package nutd
