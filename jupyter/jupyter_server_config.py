# Jupyter server settings for this project; `make lab` passes this file with --config.
# Every save (and autosave) writes notebooks without outputs, so that the notebooks in git
# stay clean and free of parcel data: see toolkit/nbstrip.py.
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from toolkit.nbstrip import strip_on_save  # noqa: E402

c = get_config()  # noqa: F821
c.ContentsManager.pre_save_hook = strip_on_save
