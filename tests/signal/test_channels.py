import numpy as np
import pytest

from emgkit.errors import ReadError
from emgkit.signal.channels import derive, needed_channels, resolve_muscles


def test_bipolar_derivation_against_hand_built_arrays():
    labels = ["EXG1", "EXG2", "Zyg"]
    data = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0], [7.0, 8.0, 9.0]])
    res = resolve_muscles({"corrugator": "exg1-exg2", "zygomaticus": "ZYG"}, labels)
    assert res == {"corrugator": ("EXG1", "EXG2"), "zygomaticus": ("Zyg", None)}
    assert needed_channels(res) == ["EXG1", "EXG2", "Zyg"]
    out = derive(data, labels, res)
    np.testing.assert_array_equal(out, [[0.5, 1.5, -1.0], [7.0, 8.0, 9.0]])


def test_labels_with_dashes():
    labels = ["EEG Fpz-Cz", "EMG-L", "EMG-R"]
    res = resolve_muscles({"a": "EEG Fpz-Cz", "b": "EMG-L-EMG-R"}, labels)
    assert res == {"a": ("EEG Fpz-Cz", None), "b": ("EMG-L", "EMG-R")}


def test_missing_channel_lists_available_labels():
    with pytest.raises(ReadError, match=r"Channel 'EXG7-EXG8' for muscle 'depressor' not "
                                        r"found in rec.bdf\. Available channels: EXG1, EXG2"):
        resolve_muscles({"depressor": "EXG7-EXG8"}, ["EXG1", "EXG2"], source="rec.bdf")
