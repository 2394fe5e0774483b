"""The ``[blocks]`` config section: baselines from designated baseline blocks.

Example (rejection and acceptance blocks, each with a matched neutral block):

.. code-block:: toml

    [blocks]
    column = "block"                  # events column naming each trial's block
    match = "block"                   # "block": the baseline block's mean response;
                                      # "position": the trial at the same position in it
    [blocks.baseline]                 # block -> its matched baseline block
    rejection = "neutral_1"
    acceptance = "neutral_2"
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._check import check_keys, check_option, config_key
from ..errors import ConfigError

MATCHES = ("block", "position")


@dataclass(frozen=True)
class BlocksConfig:
    """Block-baseline settings (empty ``baseline``: every trial uses its pre-stimulus
    window).

    Attributes
    ----------
    column : str
        Events column with the block label of each trial.
    baseline : dict
        Block -> matched baseline block.
    match : str
        ``"block"`` (the baseline block's mean response-window level) or ``"position"``
        (the level of the trial at the same position within the baseline block).
    """

    column: str = "block"
    baseline: dict = field(default_factory=dict)
    match: str = "block"


def blocks_config(d, src):
    """Validate the ``[blocks]`` table of config ``d`` read from file ``src``."""
    def where(key):
        return config_key(src, key)

    bl = d.get("blocks", {})
    if not isinstance(bl, dict):
        raise ConfigError(f"{where('blocks')} must be a table ([blocks]), got {bl!r}.")
    check_keys(bl, {"column", "baseline", "match"}, src, "blocks.")
    kw = {}
    if "column" in bl:
        if not isinstance(bl["column"], str) or not bl["column"]:
            raise ConfigError(f"{where('blocks.column')} must be an events column name.")
        kw["column"] = bl["column"]
    if "baseline" in bl:
        base = bl["baseline"]
        if (not isinstance(base, dict) or not base
                or not all(isinstance(v, str) and v for v in base.values())):
            raise ConfigError(f"{where('blocks.baseline')} must be a table block -> baseline "
                              f'block, e.g. rejection = "neutral_1", got {base!r}.')
        kw["baseline"] = {str(k): v for k, v in base.items()}
    if "match" in bl:
        kw["match"] = check_option(where("blocks.match"), bl["match"], MATCHES)
    return BlocksConfig(**kw)
