package main

import (
	"log/slog"
	"net/http"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves GET /metrics in Prometheus's formats: the DB
// module's metrics (see docs/operations.md) plus the Go runtime's and the
// process's. It uses a registry of its own rather than the client
// library's global one, so that two apps in one process (the tests)
// never collide.
func metricsHandler(db *phoenixkitdb.DB, logger *slog.Logger) (http.Handler, error) {
	c, err := metrics.New(metrics.DB(db))
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return serveRegistry(reg, logger)
}

// serveRegistry adds the Go runtime's and the process's collectors to reg
// and serves it.
func serveRegistry(reg *prometheus.Registry, logger *slog.Logger) (http.Handler, error) {
	for _, col := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// A scrape that fails half way answers 500 rather than partial
		// numbers an alert could misread.
		ErrorHandling: promhttp.HTTPErrorOnError,
	}), nil
}
