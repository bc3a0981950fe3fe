package command

import "time"

// ShedTopic is the topic of shed commands for a group (CONTRACTS section 5):
// emberwatch/v1/<site>/shed/<group>.
func ShedTopic(site, group string) string { return "emberwatch/v1/" + site + "/shed/" + group }

// AckTopic is the topic of a host's acknowledgements:
// emberwatch/v1/<site>/ack/<host>.
func AckTopic(site, host string) string { return "emberwatch/v1/" + site + "/ack/" + host }

// OperatorTopic is where an operator console sends signed operator
// commands (acknowledge, silence, unsilence, cancel, clear-fsd) to a
// gateway: emberwatch/v1/<site>/<gateway>/command.
func OperatorTopic(site, gateway string) string {
	return "emberwatch/v1/" + site + "/" + gateway + "/command"
}

// AckWildcard subscribes to the acknowledgements of every host of a site.
func AckWildcard(site string) string { return "emberwatch/v1/" + site + "/ack/+" }

// Statuses of an acknowledgement.
const (
	// AckOnline: the listener is connected and waiting (retained).
	AckOnline = "online"
	// AckReceived: a command was verified and accepted.
	AckReceived = "received"
	// AckShuttingDown: the shutdown command is being run now.
	AckShuttingDown = "shutting-down"
	// AckCancelled: a pending shutdown was withdrawn by a cancel command.
	AckCancelled = "cancelled"
	// AckRejected: a command was refused; Reason says why.
	AckRejected = "rejected"
	// AckOffline: the listener has gone (retained; also the MQTT will).
	AckOffline = "offline"
)

// Ack is a host's acknowledgement, published as JSON on AckTopic. online
// and offline are retained, so the last word about a host stays on the
// broker; the others are QoS 1 events.
type Ack struct {
	// Site, Group and Host name the listener.
	Site  string `json:"site"`
	Group string `json:"group"`
	Host  string `json:"host"`
	// Status is one of the Ack constants.
	Status string `json:"status"`
	// Gateway, Seq and Tier identify the command acknowledged, when there
	// is one.
	Gateway string `json:"gateway,omitempty"`
	Seq     int64  `json:"seq,omitempty"`
	Tier    int    `json:"tier,omitempty"`
	// Action is the acknowledged command's action.
	Action string `json:"action,omitempty"`
	// Reason is why a command was rejected (RejectReason, or
	// "wrong-site", "wrong-group", "unknown-action"); Detail says more.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// DryRun is true when the listener only logs instead of shutting down.
	DryRun bool `json:"dry_run,omitempty"`
	// Time is when the host wrote the acknowledgement; absent in the will.
	Time time.Time `json:"time,omitzero"`
}
