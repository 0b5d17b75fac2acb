"""Build step that pyproject.toml cannot declare: the report notebook goes into the package.

notebooks/03_partner_report.ipynb is the one copy anybody edits (analysts open it in
JupyterLab); the wheel carries it as toolkit/notebooks/03_partner_report.ipynb so that
``python -m toolkit report`` works where the toolkit is installed (see toolkit/paths.py).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED_NOTEBOOKS = ("03_partner_report.ipynb",)


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "toolkit" / "notebooks"
        self.mkpath(str(target))
        for name in SHIPPED_NOTEBOOKS:
            self.copy_file(str(HERE / "notebooks" / name), str(target / name))


setup(cmdclass={"build_py": BuildPy})
