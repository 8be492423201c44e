"""The example scripts run and do what they claim."""
import pathlib
import re
import subprocess
import sys
import tempfile

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_spp_numpy_cnn_trains_on_several_sizes():
    res = subprocess.run([sys.executable, str(EXAMPLES / "spp_numpy_cnn.py")],
                         capture_output=True, text=True, timeout=120,
                         cwd=tempfile.gettempdir())
    assert res.returncode == 0, res.stderr
    lengths = re.findall(r"input (\d+)x(\d+) .* SPP feature length (\d+)", res.stdout)
    assert len({(h, w) for h, w, _ in lengths}) == 3  # three image sizes
    assert {n for _, _, n in lengths} == {"336"}      # one feature length
    first, last = map(float, re.search(r"first 10 steps ([\d.]+), over the last 10 ([\d.]+)",
                                       res.stdout).groups())
    assert last < 0.5 * first
