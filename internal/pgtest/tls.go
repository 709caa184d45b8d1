package pgtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// CA is a throwaway certificate authority for TLS tests: its certificate
// goes into a client's sslrootcert bundle, the certificates it issues to
// a server with SetTLS. Safe for concurrent use.
type CA struct {
	// CertPEM is the CA's certificate, PEM-encoded.
	CertPEM []byte

	cert *x509.Certificate
	key  crypto.Signer
}

// certLifetime is generous: tests only need the certificates for minutes,
// but a clock a little off must not make them invalid.
const certLifetime = 24 * time.Hour

// NewCA creates a self-signed CA named commonName with an ECDSA P-256 key.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pgtest: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pgtest: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pgtest: CA certificate: %w", err)
	}
	return &CA{CertPEM: pemBlock("CERTIFICATE", der), cert: cert, key: key}, nil
}

// Issue returns a server certificate for hosts (DNS names or IP
// addresses, such as "localhost" and "127.0.0.1") signed by ca, and its
// private key (PKCS #8), both PEM-encoded.
func (ca *CA) Issue(hosts ...string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("pgtest: Issue needs at least one host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pgtest: server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("pgtest: server certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("pgtest: server key: %w", err)
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", pkcs8), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// TLS file names in the data directory: PostgreSQL's defaults for
// ssl_cert_file and ssl_key_file.
const (
	tlsCertFile = "server.crt"
	tlsKeyFile  = "server.key"
)

// SetTLS installs certPEM and keyPEM (from CA.Issue) as the server's
// certificate and key, turns ssl on and reloads the configuration. It
// returns once a new connection is served with that certificate, so it
// also rotates a certificate: sessions already open keep theirs. The
// server keeps accepting connections without TLS. ctx bounds the wait.
// Servers made by External return ErrExternal.
func (s *Server) SetTLS(ctx context.Context, certPEM, keyPEM []byte) error {
	if s.external != nil {
		return ErrExternal
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("pgtest: SetTLS: certPEM holds no PEM certificate")
	}
	// PostgreSQL refuses a key file others can read, and one not owned by
	// the server's user (or root), hence 0600 and the chown.
	for _, f := range []struct {
		name string
		data []byte
	}{{tlsCertFile, certPEM}, {tlsKeyFile, keyPEM}} {
		if err := s.writeOwned(f.name, f.data, 0o600); err != nil {
			return err
		}
	}
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "ALTER SYSTEM SET ssl = on")
		return err
	})
	if err != nil {
		return fmt.Errorf("pgtest: SetTLS: %w", err)
	}
	if err := s.Reload(ctx); err != nil {
		return err
	}
	// A certificate the server could not load leaves the old TLS set-up
	// (or none) in place with only a log line: check what a client gets.
	got, err := s.peerCertificate(ctx)
	if err != nil {
		return fmt.Errorf("pgtest: SetTLS: %w\n%s", err, s.LogTail(10))
	}
	if !bytes.Equal(got, block.Bytes) {
		return fmt.Errorf("pgtest: SetTLS: the server still presents its previous certificate\n%s", s.LogTail(10))
	}
	return nil
}

// writeOwned writes data to name in the data directory through a
// temporary file and a rename, so the server never reads half a file,
// and gives it to the server's user.
func (s *Server) writeOwned(name string, data []byte, mode os.FileMode) error {
	path := filepath.Join(s.dataDir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Chmod(tmp, mode); err != nil { // WriteFile's mode is filtered by the umask
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := s.as.chown(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// peerCertificate opens a TLS connection (without verification) and
// returns the DER of the certificate the server presents.
func (s *Server) peerCertificate(ctx context.Context) ([]byte, error) {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort(s.host, strconv.Itoa(s.port)),
		Path:     "/postgres",
		RawQuery: "sslmode=require&application_name=" + adminApplicationName,
	}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tc, ok := conn.PgConn().Conn().(*tls.Conn)
	if !ok {
		return nil, errors.New("the connection is not TLS")
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("the server presented no certificate")
	}
	return certs[0].Raw, nil
}
