package replication

import (
	"errors"
	"testing"
)

func TestCheckServerVersionNum(t *testing.T) {
	for _, tc := range []struct {
		num int
		ok  bool
	}{
		{90624, false}, {120022, false}, {130023, false}, {139999, false},
		{140000, true}, {140023, true}, {150014, true}, {180004, true}, {190000, true},
	} {
		err := checkServerVersionNum(tc.num)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrUnsupportedServer)) {
			t.Errorf("checkServerVersionNum(%d) = %v, want ok %v", tc.num, err, tc.ok)
		}
	}
}
