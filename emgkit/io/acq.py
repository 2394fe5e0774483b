"""Read BIOPAC AcqKnowledge ``.acq`` files with the ``bioread`` package.

AcqKnowledge may store channels at integer fractions of the base rate; emgkit reads the
EMG channels at their own rate (they must share one) and brings slower channels (e.g. a
digital input) up to it with bioread's sample-and-hold ``upsampled_data``. Event markers
stored in the file become markers (``onset`` s, ``code`` = marker text, or its type code
when the text is empty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ReadError
from .signals import Signals, dedupe


def read_acq(path, *, channels=None):
    """Read an AcqKnowledge ``.acq`` file.

    Parameters
    ----------
    path : path-like
    channels : list of str | None
        Labels whose (shared) sampling rate sets the output rate; None uses the base rate.

    Returns
    -------
    Signals
        Channels in the units AcqKnowledge stores (e.g. ``mV``), markers from the event
        journal.

    Raises
    ------
    ReadError
        Missing, truncated or unreadable file; needed channels at different rates.
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Recording {path} does not exist.")
    try:
        import bioread
    except ImportError:  # pragma: no cover - bioread is a dependency
        raise ReadError("Reading .acq files needs the bioread package: pip install "
                        "bioread.") from None
    try:
        acq = bioread.read_file(str(path))
        chans = list(acq.channels)
        if not chans:
            raise ReadError(f"{path}: the file holds no channels.")
        labels = dedupe([c.name.strip() for c in chans], [f"CH{i + 1}" for i in
                                                           range(len(chans))])
        rates = {lab: float(c.samples_per_second) for lab, c in zip(labels, chans)}
        base = float(acq.samples_per_second)
        rate = base
        if channels:
            wanted = {rates[lab] for lab in channels if lab in rates}
            if len(wanted) > 1:
                raise ReadError(f"{path}: the channels {', '.join(channels)} are stored at "
                                f"different rates ({', '.join(f'{r:g}' for r in wanted)} "
                                f"Hz); emgkit needs one rate for the EMG channels.")
            rate = wanted.pop() if wanted else base
        n = min(int(round(len(c.upsampled_data) * rate / base)) for c in chans)
        data = np.empty((len(chans), n))
        for k, c in enumerate(chans):
            x = np.asarray(c.data if rates[labels[k]] == rate else c.upsampled_data, float)
            step = max(1, int(round(base / rate))) if rates[labels[k]] != rate else 1
            data[k] = x[::step][:n]
        onsets, codes = [], []
        for m in acq.event_markers or []:
            idx = getattr(m, "sample_index", None)
            if idx is None:
                continue
            onsets.append(float(idx) / base)
            text = (m.text or "").strip()
            codes.append(text or str(getattr(m, "type_code", "") or "marker"))
    except ReadError:
        raise
    except Exception as exc:  # bioread raises struct/value/index errors on bad files
        raise ReadError(f"{path}: bioread could not read the file ({type(exc).__name__}: "
                        f"{exc}). It is truncated or not an AcqKnowledge file.") from exc
    return Signals(str(path), labels, [c.units or "" for c in chans], data, rate,
                   markers=pd.DataFrame({"onset": np.array(onsets, float), "code": codes}),
                   aliases={f"CH{i + 1}": lab for i, lab in enumerate(labels)},
                   rates=rates if len(set(rates.values())) > 1 else {})
