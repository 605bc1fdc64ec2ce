"""Engine: send every trial through its model's provider, with bounded concurrency, into a sink."""

from roadtest.engine.records import trial_record
from roadtest.engine.runner import Events, Sink, execute

__all__ = ["Events", "Sink", "execute", "trial_record"]
