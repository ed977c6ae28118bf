"""The Prometheus side of the service (``/metrics``), with ``prometheus-client``.

Job counts, pages, tiles and reading seconds come from the database at each
scrape (the work happens in worker processes, which share nothing else with
the server), so the figures survive restarts; request latencies are a
histogram kept in the server. The drift watch -- the share of reviewed hits
marked wrong and of true tags added as missed, per label and ISO week -- is
computed from the verdicts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from locator.serve.results import drift
from locator.serve.store import JobState, Store


class StoreCollector:
    """Reads the database at each scrape."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self):
        c = self.store.counts()
        jobs = GaugeMetricFamily("locator_jobs", "Jobs by state", labels=["state"])
        for state in JobState:
            jobs.add_metric([state.value], c["states"].get(state.value, 0))
        yield jobs
        yield GaugeMetricFamily("locator_queue_depth", "Jobs waiting for a slot",
                                value=c["states"].get(JobState.queued.value, 0))
        yield CounterMetricFamily("locator_pages_read", "Pages read by finished jobs",
                                  value=c["pages"])
        yield CounterMetricFamily("locator_tiles_read", "Tiles read by finished jobs",
                                  value=c["tiles"])
        yield CounterMetricFamily("locator_ocr_seconds", "Seconds finished jobs spent reading",
                                  value=c["ocr_seconds"])
        wrong = GaugeMetricFamily("locator_review_wrong_share",
                                  "Share of reviewed hits marked wrong", labels=["label", "week"])
        missed = GaugeMetricFamily("locator_review_missed_share",
                                   "Share of true tags (correct + missed) added as missed",
                                   labels=["label", "week"])
        for row in drift(*self.store.review_rows()):
            if row["wrong_share"] is not None:
                wrong.add_metric([row["label"], row["week"]], row["wrong_share"])
            if row["missed_share"] is not None:
                missed.add_metric([row["label"], row["week"]], row["missed_share"])
        yield wrong
        yield missed


def make_registry(store: Store) -> tuple[CollectorRegistry, Histogram]:
    """A registry of the server's own (one per app, so tests can build many apps)."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(store))
    latency = Histogram("locator_request_seconds", "HTTP request latency",
                        ["method", "route", "status"], registry=registry,
                        buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
    return registry, latency
