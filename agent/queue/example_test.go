package queue_test

import (
	"fmt"
	"os"

	"github.com/emberwatch/emberwatch/agent/queue"
)

func Example() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	l, err := queue.Open(dir, queue.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	seq, _ := l.Append(queue.Record{Key: "bms-1", Topic: "emberwatch/v1/dc1/gw-1/alert/bms-1", Payload: []byte(`{"id":"a1"}`)})
	_ = l.Close()

	// after a restart the record is still there, until acknowledged
	l, _ = queue.Open(dir, queue.Options{})
	rs, _ := l.Next(0, 10)
	fmt.Println(len(rs), string(rs[0].Payload))
	_ = l.Ack(seq)
	fmt.Println(l.Len())
	_ = l.Close()
	// Output:
	// 1 {"id":"a1"}
	// 0
}
