/**
 * Prometheus metrics and the health check over HTTP ({@code metrics.listen}). Everything here
 * reads counters the server, spool, queue, TLS and reactor already keep, at scrape time, through
 * callback metrics: the session loops pay nothing per event for being observed. The only
 * metrics recorded as they happen are the spool's batch histograms, on the spool writer thread.
 */
package io.sluice.smtp.metrics;
