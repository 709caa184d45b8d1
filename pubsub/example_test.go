package pubsub_test

import (
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func ExamplePubSub() {
	ps := pubsub.New(nil)

	// A live page for one table, and an activity feed for all tables.
	page := pubsub.NewMailbox(16)
	feed := pubsub.NewMailbox(16)
	defer page.Close()
	defer feed.Close()
	_ = ps.Subscribe(page, pubsub.TopicTable("public", "users"))
	_ = ps.Subscribe(feed, pubsub.TopicAll())

	_ = ps.BroadcastChanges([]pubsub.Event{
		{Schema: "public", Table: "users", Operation: "INSERT", RowID: "42"},
		{Schema: "public", Table: "orders", Operation: "DELETE", RowID: "7"},
	})

	fmt.Println("page:", <-page.C())
	fmt.Println("feed:", <-feed.C())
	fmt.Println("feed:", <-feed.C())
	// Output:
	// page: public.users:INSERT:42
	// feed: public.users:INSERT:42
	// feed: public.orders:DELETE:7
}

func ExampleMailbox_overflow() {
	ps := pubsub.New(nil)
	mb := pubsub.NewMailbox(2)
	defer mb.Close()
	_ = ps.Subscribe(mb, pubsub.TopicAll())

	for id := range 5 {
		_ = ps.BroadcastChanges([]pubsub.Event{{Schema: "public", Table: "t", Operation: "INSERT", RowID: fmt.Sprint(id)}})
	}
	for range 3 {
		ev := <-mb.C()
		if ev.Kind == pubsub.Resync {
			fmt.Println("reload everything:", ev.Reason)
			continue
		}
		fmt.Println("apply", ev)
	}
	fmt.Println("dropped:", mb.Dropped())
	// Output:
	// apply public.t:INSERT:0
	// apply public.t:INSERT:1
	// reload everything: overflow
	// dropped: 3
}
