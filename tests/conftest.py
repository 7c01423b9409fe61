import os

# Tests run on CPU with few threads; keep runs reproducible and light on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _register_mmiml() -> None:
    from mmiml.engine import apply_mmengine_patches
    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    apply_mmengine_patches()  # as tools/train.py and tools/test.py do
