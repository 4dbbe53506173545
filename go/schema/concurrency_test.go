package schema

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One loaded schema serves many goroutines at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	s, mon := loadMonster(t)
	dir, ty := loadTestAllTypes(t)
	msg := readFile(t, filepath.Join(dir, "capnp", "testdata", "segmented"))
	wantFB, err := s.Root.JSON(mon, nil)
	require.NoError(t, err)
	wantCP, err := ty.JSON(msg, nil)
	require.NoError(t, err)

	var reg Registry
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				got, err := s.Root.JSON(mon, nil)
				assert.NoError(t, err)
				assert.Equal(t, wantFB, got)
				got, err = ty.JSON(msg, nil)
				assert.NoError(t, err)
				assert.Equal(t, wantCP, got)
				assert.NoError(t, reg.Add(s))
				assert.NoError(t, reg.Add(ty.Schema()))
				found, err := reg.TypeByID(ty.ID)
				assert.NoError(t, err)
				assert.Same(t, ty, found)
			}
		}()
	}
	wg.Wait()
}
