"""pytestd's built-in reload patches, against the real libraries from PyPI: without them, modules
that define prometheus_client metrics or SQLAlchemy declarative models cannot be executed again."""
import subprocess

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

LIBRARIES = ["pytest", "prometheus_client", "sqlalchemy>=2"]


@pytest.fixture(scope="session")
def libs_venv():
    venv = H.VENV_ROOT / "libs-3.11"
    probe = [str(venv / "bin" / "python"), "-c", "import pytest, prometheus_client, sqlalchemy"]
    if not (venv / "bin" / "python").exists() or subprocess.run(probe, capture_output=True).returncode:
        base = H.PYENV_VERSIONS / H.PYTHON_VERSIONS["3.11"] / "bin" / "python"
        subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *LIBRARIES], check=True, timeout=600)
    return venv


FILES = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": "import time\ntime.sleep(0.8)\n",
    "src/app/__init__.py": "",
    "src/app/db.py": '''
        from sqlalchemy.orm import DeclarativeBase

        class Base(DeclarativeBase):
            pass
    ''',
    "src/app/models.py": '''
        from sqlalchemy import Column, Integer, String
        from app.db import Base

        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            name = Column(String(50))

        LIMIT = 1
    ''',
    "src/app/metrics.py": '''
        from prometheus_client import Counter

        REQUESTS = Counter("requests_total", "Requests served")
        LIMIT = 1
    ''',
    "tests/test_app.py": '''
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session
        from app.db import Base
        from app.metrics import REQUESTS, LIMIT as METRICS_LIMIT
        from app.models import User, LIMIT as MODELS_LIMIT

        def test_models():
            engine = create_engine("sqlite://")
            Base.metadata.create_all(engine)
            with Session(engine) as session:
                session.add(User(name="ada"))
                session.commit()
                assert session.query(User).count() == 1
            assert MODELS_LIMIT == 1

        def test_metrics():
            REQUESTS.inc()
            assert METRICS_LIMIT == 1
    ''',
}


@pytest.mark.parametrize("module", ["src/app/models.py", "src/app/metrics.py"])
def test_modules_using_the_libraries_reload_with_the_built_in_patches(ctx, libs_venv, module):
    pair = ctx.pair(FILES, label="libs")
    for project in (pair.d, pair.p):
        project.venv = libs_venv
        project.venvs_used = {libs_venv}
    pair.compare("-q", daemon_first=True)
    assert pair.d.cli("start").rc == 0
    before = H.change_set_id(pair.d.status())
    text = pair.d.path(module).read_text()
    pair.write(module, text.replace("LIMIT = 1", "LIMIT = 2"))
    pair.compare("-q", daemon_first=True)
    reload = H.reload_after(pair.d, before)
    assert "reloaded " + module.replace("src/", "").replace("/", ".")[:-3] in reload, reload
    assert pair.d.status()["last fallback"] == "none"
