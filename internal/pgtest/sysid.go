package pgtest

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"
)

// errControlLayout is returned by setSystemIdentifier when pg_control or the
// WAL segments are not laid out as it expects (a future version, a corrupt
// file): nothing was written, and the caller makes a fresh cluster instead.
var errControlLayout = errors.New("pgtest: unrecognised pg_control or WAL layout")

const (
	// controlFile holds ControlFileData, whose first field is the
	// system identifier (a uint64) and whose crc field covers every byte
	// before it; the file is padded with zeros to 8 kB.
	controlFile = "global/pg_control"
	// walSysidOffset is where XLogLongPageHeaderData (the header of a WAL
	// segment's first page) holds the system identifier: after the
	// 24-byte standard page header. The server refuses a segment whose
	// identifier differs from pg_control's.
	walSysidOffset = 24
	// xlpLongHeader is the xlp_info flag of a long page header.
	xlpLongHeader = 0x0002
)

// controlCRCOffset returns where the CRC-32C of ControlFileData sits in the
// control file's bytes: the first 4-aligned offset k where the CRC of
// control[:k] equals the little-endian uint32 at k. Scanning for it keeps
// pgtest independent of the struct's size, which changes between versions.
func controlCRCOffset(control []byte) (int, bool) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	const first = 16 // after the identifier and the two version numbers
	if len(control) < first+4 {
		return 0, false
	}
	crc := crc32.Update(0, tab, control[:first])
	for k := first; k+4 <= len(control); k += 4 {
		if crc == binary.LittleEndian.Uint32(control[k:]) {
			return k, true
		}
		crc = crc32.Update(crc, tab, control[k:k+4])
	}
	return 0, false
}

// newSystemIdentifier returns a system identifier made as initdb makes
// one, the Unix time in the high 32 bits, with 32 random low bits instead
// of the microseconds and the process id: until 2038 its top bit is
// clear, so pg_control_system() shows it as a positive bigint, as tests
// reading it expect.
func newSystemIdentifier() (uint64, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	return uint64(time.Now().Unix())<<32 | uint64(binary.LittleEndian.Uint32(b[:])), nil
}

// setSystemIdentifier gives the cleanly stopped cluster in dataDir the
// system identifier id: in pg_control (with its CRC recomputed) and in the
// long header of every WAL segment that carries the old one. It checks
// everything before writing anything: when the control file's CRC cannot
// be found or no segment carries the identifier, it returns an error
// wrapping errControlLayout and leaves the files as they were. The files
// keep their owner and mode.
func setSystemIdentifier(dataDir string, id uint64) error {
	controlPath := filepath.Join(dataDir, controlFile)
	control, err := os.ReadFile(controlPath)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	crcOff, ok := controlCRCOffset(control)
	if !ok {
		return fmt.Errorf("%w: no CRC found in %s", errControlLayout, controlPath)
	}
	old := binary.LittleEndian.Uint64(control)
	segments, err := walSegmentsOf(filepath.Join(dataDir, "pg_wal"), old)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(control, id)
	binary.LittleEndian.PutUint32(control[crcOff:], crc32.Checksum(control[:crcOff], crc32.MakeTable(crc32.Castagnoli)))
	if err := writeAt(controlPath, control[:crcOff+4], 0); err != nil {
		return err
	}
	var sysid [8]byte
	binary.LittleEndian.PutUint64(sysid[:], id)
	for _, seg := range segments {
		if err := writeAt(seg, sysid[:], walSysidOffset); err != nil {
			return err
		}
	}
	return nil
}

// walSegmentsOf returns the WAL segment files in walDir whose first page
// has a long header carrying system identifier sysid; at least one must.
// Other files (history files, zeroed segments) are left alone.
func walSegmentsOf(walDir string, sysid uint64) ([]string, error) {
	entries, err := os.ReadDir(walDir)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	var segments []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !isWALSegmentName(e.Name()) {
			continue
		}
		path := filepath.Join(walDir, e.Name())
		var head [walSysidOffset + 8]byte
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		_, err = f.ReadAt(head[:], 0)
		f.Close()
		if err != nil {
			continue // shorter than a page header: not a segment to rewrite
		}
		info := binary.LittleEndian.Uint16(head[2:])
		if info&xlpLongHeader != 0 && binary.LittleEndian.Uint64(head[walSysidOffset:]) == sysid {
			segments = append(segments, path)
		}
	}
	if len(segments) == 0 {
		return nil, fmt.Errorf("%w: no WAL segment in %s carries system identifier %d", errControlLayout, walDir, sysid)
	}
	return segments, nil
}

// isWALSegmentName reports whether name is 24 upper-case hex digits.
func isWALSegmentName(name string) bool {
	if len(name) != 24 {
		return false
	}
	for _, r := range name {
		if (r < '0' || r > '9') && (r < 'A' || r > 'F') {
			return false
		}
	}
	return true
}

// writeAt writes b at offset off of the existing file path in place.
func writeAt(path string, b []byte, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	_, err = f.WriteAt(b, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgtest: writing %s: %w", path, err)
	}
	return nil
}
