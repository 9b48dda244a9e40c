"""Test-session set-up shared by tests/ and the chapters run through nbval (book/*.ipynb).

Every chapter executed by the tests (nbval or papermill) runs in the ``smoke`` profile and
writes to a private data folder, so a test run never overwrites the book's results.
"""

import os
import tempfile


def pytest_configure(config):
    os.environ["CALOPAPER_PROFILE"] = "smoke"
    if "CALOPAPER_DATA" not in os.environ:
        os.environ["CALOPAPER_DATA"] = tempfile.mkdtemp(prefix="calopaper-test-data-")
