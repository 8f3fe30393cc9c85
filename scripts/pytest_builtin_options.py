"""Prints pytest's built-in command-line options with their arity, as pytestd's option table needs them.

Run by hand with each test interpreter, then merge into
Sources/PytestdCore/ProjectSetup/PytestOptionTable.swift:

    .build/test-venvs/py3.11.7/bin/python scripts/pytest_builtin_options.py

At the moment pytest determines its rootdir only the built-in plugins have registered options, so
this asks each default plugin's ``pytest_addoption`` for its own (the plugin name matters: ``-p no:NAME``
unregisters a plugin's options before parsing).
"""

import argparse
import importlib

import pytest
from _pytest.config import Config, PytestPluginManager, default_plugins, essential_plugins
from _pytest.config.argparsing import Parser


def arity(action):
    if action.nargs is None:
        return "1"
    if action.nargs == 0:
        return "0"
    return repr(action.nargs)


def main():
    pm = PytestPluginManager()
    print(f"# pytest {pytest.__version__}")
    seen = set()
    for name in default_plugins:
        module = importlib.import_module("_pytest." + name)
        hook = getattr(module, "pytest_addoption", None)
        if hook is None:
            continue
        parser = Parser()
        kwargs = {"parser": parser, "pluginmanager": pm}
        hook(**{k: v for k, v in kwargs.items() if k in hook.__code__.co_varnames})
        optparser = parser._getparser() if hasattr(parser, "_getparser") else parser.optparser
        for action in optparser._actions:
            if not action.option_strings:
                continue
            key = tuple(action.option_strings)
            if key in seen:
                continue
            seen.add(key)
            plugin = "" if name in essential_plugins else name
            print(" ".join(action.option_strings), arity(action), plugin or "-")


main()
