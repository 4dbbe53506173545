package schema_test

import (
	"fmt"
	"log"
	"os"

	"github.com/crossbuf/crossbuf/go/schema"
)

// A binary schema needs no compiler; the message is verified while it is
// decoded.
func ExampleLoadBFBS() {
	bfbs, err := os.ReadFile("monster_test.bfbs") // flatc -b --schema --bfbs-builtins monster_test.fbs
	if err != nil {
		log.Fatal(err)
	}
	s, err := schema.LoadBFBS(bfbs)
	if err != nil {
		log.Fatal(err)
	}
	monster, err := s.Type("MyGame.Example.Monster")
	if err != nil {
		log.Fatal(err)
	}
	msg, err := os.ReadFile("monsterdata_test.mon")
	if err != nil {
		log.Fatal(err)
	}
	v, err := monster.Decode(msg, &schema.Options{Identifier: "MONS"})
	if err != nil {
		log.Fatal(err) // a *schema.DataError names the field path
	}
	// Fields by name (or slot); v.Map() gives a map[string]any.
	fmt.Println(v.Get("name").Str(), v.Get("hp").Int())
	js, err := monster.JSON(msg, nil) // as flatc --json --strict-json prints it
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(js))
}

// A text schema is compiled by the reference compiler when it is installed.
func ExampleCompileCapnp() {
	s, err := schema.CompileCapnp("test.capnp", &schema.CompileOptions{ImportPaths: []string{"."}})
	if err != nil {
		log.Fatal(err) // says what to install when capnp is missing
	}
	t, err := s.Type("TestAllTypes") // or "test.capnp:TestAllTypes", or s.TypeByID(id)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := os.ReadFile("message.bin")
	if err != nil {
		log.Fatal(err)
	}
	if err := t.Verify(msg, &schema.Options{TraverseLimitWords: 1 << 20}); err != nil {
		log.Fatal(err)
	}
	var reg schema.Registry // resolves the type ids frames carry
	if err := reg.Add(s); err != nil {
		log.Fatal(err)
	}
	found, err := reg.TypeByID(t.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found.Name)
}
