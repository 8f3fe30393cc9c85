"""The corpus: public projects whose own test suites (from their sdists on PyPI) run through pytestd and
through plain pytest. Everything is pinned, so a difference is pytestd's, not a new release's.

Each deselection says why; a test may be deselected only because it differs between two *plain* runs or
depends on this machine — never because pytestd answers differently.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Project:
    name: str
    sdist: str                  # NAME==VERSION whose sdist holds the tests
    requirements: tuple         # pip install arguments (complete pins: `pip freeze` of a working venv)
    suite: tuple                # what the full run selects (paths, relative to the sdist's root)
    single_file: str            # the file whose run is timed
    options: tuple = ()         # options both sides get
    deselect: dict = field(default_factory=dict)  # node id -> why
    env: dict = field(default_factory=dict)
    pytestd_settings: str = ""  # appended to the pytestd copy's pyproject.toml (plain pytest ignores it)
    python: str = "3.11.7"
    timeout: float = 600


PYTEST = ("iniconfig==2.3.1", "packaging==26.4", "pluggy==1.7.0", "pytest==8.1.1")

SYMPY_FILES = ("sympy/core/tests/test_basic.py", "sympy/core/tests/test_arit.py",
               "sympy/core/tests/test_expr.py", "sympy/core/tests/test_numbers.py",
               "sympy/sets/tests/test_sets.py", "sympy/logic/tests/test_boolalg.py",
               "sympy/utilities/tests/test_iterables.py", "sympy/simplify/tests/test_radsimp.py")

_projects = [
    # A CLI library.
    Project(
        name="click",
        sdist="click==8.1.7",
        requirements=(*PYTEST, "click==8.1.7"),
        suite=("tests",),
        single_file="tests/test_parser.py",
    ),
    # Hypothesis-heavy; its conftest loads a hypothesis profile in pytest_configure.
    Project(
        name="attrs",
        sdist="attrs==23.2.0",
        requirements=(*PYTEST, "attrs==23.2.0", "hypothesis==6.170.17", "sortedcontainers==2.4.0",
                      "cloudpickle==3.1.3", "Pympler==1.1", "zope.interface==8.7"),
        suite=("tests",),
        single_file="tests/test_cmp.py",
    ),
    # Async: anyio's own pytest plugin, asyncio and trio backends.
    Project(
        name="anyio",
        sdist="anyio==4.3.0",
        requirements=(*PYTEST, "anyio==4.3.0", "trio==0.35.0", "attrs==26.1.0", "idna==3.20",
                      "outcome==1.3.0.post0", "sniffio==1.3.1", "sortedcontainers==2.4.0",
                      "hypothesis==6.170.17", "psutil==7.2.2", "pytest-mock==3.17.0", "trustme==1.2.1",
                      "cryptography==50.0.2", "cffi==2.1.1", "pycparser==3.12", "uvloop==0.23.0",
                      "exceptiongroup==1.3.2", "typing_extensions==4.16.0"),
        suite=("tests",),
        single_file="tests/test_eventloop.py",
        # This sandbox's network: 109 of its TCP/UDP/getaddrinfo tests fail in plain pytest as well.
        options=("--ignore=tests/test_sockets.py",),
        deselect={
            "tests/streams/test_tls.py::TestTLSListener::test_handshake_fail[asyncio]":
                "flaky: failed in one of two plain runs (timing of the TLS handshake failure)",
            "tests/test_from_thread.py::test_thread_cancelled_and_abandoned[asyncio+uvloop]":
                "flaky: failed in one of two plain runs (thread timing)",
        },
    ),
    # Configures Django itself: settings.configure() in its conftest's pytest_configure.
    Project(
        name="drf",
        sdist="djangorestframework==3.15.1",
        requirements=(*PYTEST, "djangorestframework==3.15.1", "Django==4.2.11", "asgiref==3.13.0",
                      "sqlparse==0.6.1", "pytest-django==4.8.0"),
        suite=("tests",),
        single_file="tests/test_serializer.py",
    ),
    # A Django app tested with pytest-django and a settings module (DJANGO_SETTINGS_MODULE in pyproject).
    Project(
        name="axes",
        sdist="django-axes==6.4.0",
        requirements=(*PYTEST, "Django==4.2.11", "asgiref==3.13.0", "sqlparse==0.6.1", "django-ipware==7.0.1",
                      "python-ipware==4.1.1", "pytest-django==4.8.0", "pytest-subtests==0.11.0",
                      "attrs==26.1.0"),
        suite=("tests",),
        single_file="tests/test_helpers.py",
        # Its addopts ask for pytest-cov, which pytestd hands to plain pytest by design; drop it on both sides.
        options=("-o", "addopts="),
    ),
    # A large pure-Python codebase (sympy: ~1,450 modules); a pinned subset of its test files.
    Project(
        name="sympy",
        sdist="sympy==1.12",
        requirements=(*PYTEST, "mpmath==1.3.0", "hypothesis==6.170.17", "sortedcontainers==2.4.0"),
        suite=SYMPY_FILES,
        single_file="sympy/core/tests/test_basic.py",
        # The default warm-up collects the whole tree (~700 test modules, minutes on 2 shared cores).
        pytestd_settings="[tool.pytestd]\npreload = [%s]\n" % ", ".join(f'"{f}"' for f in SYMPY_FILES),
    ),
]

PROJECTS = {p.name: p for p in _projects}
