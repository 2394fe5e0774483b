"""Continuous signals: muscles from channels (:mod:`.channels`, bipolar derivation), band-pass
and notch (:mod:`.filter`), rectification and smoothing (:mod:`.envelope`), the chunked engine
that runs them with bounded memory (:mod:`.chunked`), flat and saturated stretches
(:mod:`.artifacts`) and signal-quality measures (:mod:`.quality`)."""

from .artifacts import channel_bad_spans
from .channels import derive, needed_channels, resolve_muscles
from .chunked import process_blocks
from .envelope import envelope
from .filter import apply_filter, band_pass, design_filter
from .quality import recording_quality

__all__ = ["apply_filter", "band_pass", "channel_bad_spans", "derive", "design_filter",
           "envelope", "needed_channels", "process_blocks", "recording_quality",
           "resolve_muscles"]
